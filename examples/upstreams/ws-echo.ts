// Demo websocket upstream: echoes every message on /ws (prefixed with its
// NAME in a first "hello" message). Plain HTTP on the same port: /healthz.
//   NAME=ws-echo PORT=8080 node --import tsx examples/upstreams/ws-echo.ts
import http from "node:http";
import { WebSocketServer } from "ws";
import { listen, runAsProcess, type Started } from "./serve.ts";

export function startWsEcho(opts: { name: string; port?: number; host?: string }): Promise<Started> {
  const server = http.createServer((req, res) => {
    if (req.url === "/healthz") res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    else res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket" }).end("websocket only: GET /ws with Upgrade: websocket\n");
  });
  const wss = new WebSocketServer({ server, path: "/ws" });
  wss.on("connection", (ws, req) => {
    ws.send(JSON.stringify({ hello: opts.name, host: req.headers.host ?? null }));
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return listen(server, opts.port ?? 8080, opts.host, () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  });
}

await runAsProcess(import.meta.url, { label: "ws-echo", defaultName: "ws-echo", defaultPort: 8080 }, startWsEcho);
