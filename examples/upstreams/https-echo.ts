// Demo HTTPS upstream that requires a client certificate (APISIX scheme
// "https" with tls.client_cert_id): answers like http-echo, plus what the TLS
// handshake carried — the SNI the client sent and the verified client
// certificate's common name. A client without a certificate signed by `ca`
// fails the handshake and never reaches the handler.
//   NAME=mtls-echo PORT=8443 CERT=server.pem KEY=server.key CA=ca.pem node --import tsx examples/upstreams/https-echo.ts
import fs from "node:fs";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import { echoHandler } from "./http-echo.ts";
import type { ServerTls } from "./grpc-echo.ts";
import { listen, runAsProcess, type Started } from "./serve.ts";

export interface TlsFacts {
  /** SNI from the ClientHello; null when the client sent none. */
  sni: string | null;
  /** Common name of the verified client certificate. */
  client_cert: string | null;
  protocol: string | null;
}

export function tlsFacts(socket: TLSSocket): TlsFacts {
  const servername = (socket as TLSSocket & { servername?: string | false }).servername;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return {
    sni: typeof servername === "string" && servername ? servername : null,
    client_cert: socket.authorized && cn ? (Array.isArray(cn) ? cn.join(",") : cn) : null,
    protocol: socket.getProtocol(),
  };
}

export function startHttpsEcho(opts: { name: string; port?: number; host?: string; tls: ServerTls }): Promise<Started & { handshakeErrors: string[] }> {
  const handshakeErrors: string[] = [];
  const server = https.createServer(
    { cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: true, rejectUnauthorized: true },
    echoHandler(opts.name, (req) => ({ tls: tlsFacts(req.socket as TLSSocket) })),
  );
  // Kept so that a test can tell "refused at the handshake" from "never dialled".
  server.on("tlsClientError", (err) => handshakeErrors.push(err.message));
  return listen(server, opts.port ?? 8443, opts.host).then((s) => ({ ...s, handshakeErrors }));
}

await runAsProcess(import.meta.url, { label: "https-echo", defaultName: "mtls-echo", defaultPort: 8443, note: " (client certificate required)" }, (o) => {
  const read = (v: string) => {
    const p = process.env[v];
    if (!p) throw new Error(`${v} (a PEM file) is required`);
    return fs.readFileSync(p, "utf8");
  };
  return startHttpsEcho({ ...o, tls: { cert: read("CERT"), key: read("KEY"), ca: read("CA") } });
});
