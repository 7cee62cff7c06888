// Demo gRPC upstream (examples/upstreams/echo.proto): echo.Echo/Echo (unary),
// echo.Echo/Repeat (server streaming) and echo.Echo/EchoStream (bidi).
// Plaintext HTTP/2 (APISIX scheme "grpc"), or TLS with a required client
// certificate when `tls` is given (scheme "grpcs" with tls.client_cert_id).
//   NAME=grpc-echo PORT=50051 node --import tsx examples/upstreams/grpc-echo.ts
import path from "node:path";
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import { runAsProcess, type Started } from "./serve.ts";

export const ECHO_PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), "echo.proto");

export interface EchoRequest {
  message: string;
}
export interface RepeatRequest {
  message: string;
  count: number;
  interval_ms: number;
}
export interface EchoReply {
  message: string;
  server: string;
  authority: string;
  client_cert: string;
}

/** PEM texts for a TLS upstream that requires a client certificate signed by `ca`. */
export interface ServerTls {
  cert: string;
  key: string;
  ca: string;
}

// biome-ignore lint/suspicious/noExplicitAny: proto-loader builds the service at run time; callers use it as grpc-js documents
export function echoPackage(): any {
  const def = protoLoader.loadSync(ECHO_PROTO, { keepCase: true, defaults: true });
  return (grpc.loadPackageDefinition(def) as Record<string, unknown>).echo;
}

const MAX_REPEAT = 1000;
const MAX_INTERVAL_MS = 10_000;

export function startGrpcEcho(opts: { name: string; port?: number; host?: string; tls?: ServerTls }): Promise<Started> {
  const pkg = echoPackage();
  const server = new grpc.Server();
  // grpc-js keeps :authority out of the metadata; getHost() returns it
  const reply = (
    call: { getHost(): string; getAuthContext(): { sslPeerCertificate?: { subject?: { CN?: string | string[] } } } },
    message: string,
  ): EchoReply => {
    const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN;
    return { message, server: opts.name, authority: call.getHost(), client_cert: Array.isArray(cn) ? cn.join(",") : (cn ?? "") };
  };
  server.addService(pkg.Echo.service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      cb(null, reply(call, call.request.message));
    },
    Repeat: async (call: grpc.ServerWritableStream<RepeatRequest, EchoReply>) => {
      const n = Math.min(Math.max(0, call.request.count | 0), MAX_REPEAT);
      const pause = Math.min(Math.max(0, call.request.interval_ms | 0), MAX_INTERVAL_MS);
      for (let i = 1; i <= n && !call.cancelled; i++) {
        if (i > 1 && pause > 0) await new Promise((r) => setTimeout(r, pause));
        call.write(reply(call, `${call.request.message} ${i}`));
      }
      call.end();
    },
    EchoStream: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
      call.on("data", (req: EchoRequest) => call.write(reply(call, req.message)));
      call.on("end", () => call.end());
    },
  });
  const creds = opts.tls
    ? grpc.ServerCredentials.createSsl(Buffer.from(opts.tls.ca), [{ cert_chain: Buffer.from(opts.tls.cert), private_key: Buffer.from(opts.tls.key) }], true)
    : grpc.ServerCredentials.createInsecure();
  return new Promise((resolve, reject) => {
    server.bindAsync(`${opts.host ?? "0.0.0.0"}:${opts.port ?? 50051}`, creds, (err, port) => {
      if (err) return reject(err);
      resolve({ port, close: () => new Promise<void>((r) => server.tryShutdown(() => r())) });
    });
  });
}

await runAsProcess(import.meta.url, { label: "grpc-echo", defaultName: "grpc-echo", defaultPort: 50051 }, startGrpcEcho);
