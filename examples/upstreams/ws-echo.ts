// Demo websocket upstream: echoes every message on /ws (prefixed with its
// NAME in a first "hello" message). Plain HTTP on the same port: /healthz.
//   NAME=ws-echo PORT=8080 node --import tsx examples/upstreams/ws-echo.ts
import http from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { WebSocketServer } from "ws";

export function startWsEcho(opts: { name: string; port?: number; host?: string }): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === "/healthz") res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    else res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket" }).end("websocket only: GET /ws with Upgrade: websocket\n");
  });
  const wss = new WebSocketServer({ server, path: "/ws" });
  wss.on("connection", (ws, req) => {
    ws.send(JSON.stringify({ hello: opts.name, host: req.headers.host ?? null }));
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8080, opts.host ?? "0.0.0.0", () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            for (const c of wss.clients) c.terminate();
            wss.close();
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    );
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const name = process.env.NAME ?? "ws-echo";
  const s = await startWsEcho({ name, port: Number(process.env.PORT ?? 8080), host: process.env.HOST });
  console.log(`ws-echo ${name} listening on :${s.port}`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
