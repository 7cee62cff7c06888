// Demo HTTP upstream: answers every request with JSON naming itself and
// echoing what it received (Host, method, path, headers). /healthz → 200 "ok"
// for active health checks.
//   NAME=echo-1 PORT=8080 node --import tsx examples/upstreams/http-echo.ts
import http from "node:http";
import { listen, runAsProcess, type Started } from "./serve.ts";

export type { Started };

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
      res.writeHead(200, { "content-type": "application/json", "x-upstream-name": name }).end(`${echoJson(name, req, bodyLength, extra(req))}\n`);
    });
  };
}

export function startHttpEcho(opts: { name: string; port?: number; host?: string }): Promise<Started> {
  return listen(http.createServer(echoHandler(opts.name)), opts.port ?? 8080, opts.host);
}

await runAsProcess(import.meta.url, { label: "http-echo", defaultName: "echo", defaultPort: 8080 }, startHttpEcho);
