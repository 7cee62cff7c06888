// Demo HTTP upstream: answers every request with JSON naming itself and
// echoing what it received (Host, method, path, headers). /healthz → 200 "ok"
// for active health checks.
//   NAME=echo-1 PORT=8080 node --import tsx examples/upstreams/http-echo.ts
import http from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";

export interface Started {
  port: number;
  close(): Promise<void>;
}

/** The JSON an echo answers with: who it is and what it received. */
export function echoJson(name: string, req: http.IncomingMessage, bodyLength: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify(
    {
      server: name,
      method: req.method,
      url: req.url,
      host: req.headers.host ?? null,
      httpVersion: req.httpVersion,
      headers: req.headers,
      bodyLength,
      ...extra,
    },
    null,
    2,
  );
}

/** The echo's request handler; `extra` adds fields per request (the https echo's TLS facts). */
export function echoHandler(name: string, extra: (req: http.IncomingMessage) => Record<string, unknown> = () => ({})): http.RequestListener {
  return (req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    let bodyLength = 0;
    req.on("data", (c: Buffer) => (bodyLength += c.length));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "x-upstream-name": name }).end(echoJson(name, req, bodyLength, extra(req)) + "\n");
    });
  };
}

export function startHttpEcho(opts: { name: string; port?: number; host?: string }): Promise<Started> {
  const server = http.createServer(echoHandler(opts.name));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8080, opts.host ?? "0.0.0.0", () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const name = process.env.NAME ?? "echo";
  const s = await startHttpEcho({ name, port: Number(process.env.PORT ?? 8080), host: process.env.HOST });
  console.log(`http-echo ${name} listening on :${s.port}`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
