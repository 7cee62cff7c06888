// The demo upstreams answer over loopback: HTTP echo, gRPC echo, websocket echo.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import grpc from "@grpc/grpc-js";
import WebSocket from "ws";
import { startHttpEcho } from "../../examples/upstreams/http-echo.ts";
import { echoPackage, startGrpcEcho, type EchoReply } from "../../examples/upstreams/grpc-echo.ts";
import { startWsEcho } from "../../examples/upstreams/ws-echo.ts";

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      })
      .on("error", reject);
  });
}

test("http-echo: names itself, echoes Host and headers as JSON; /healthz", async () => {
  const s = await startHttpEcho({ name: "echo-1", port: 0, host: "127.0.0.1" });
  try {
    const r = await get(s.port, "/echo/hi?x=1", { host: "api.example.com:9080", "x-test": "yes" });
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-upstream-name"], "echo-1");
    const j = JSON.parse(r.body);
    assert.equal(j.server, "echo-1");
    assert.equal(j.host, "api.example.com:9080");
    assert.equal(j.url, "/echo/hi?x=1");
    assert.equal(j.method, "GET");
    assert.equal(j.headers["x-test"], "yes");
    const h = await get(s.port, "/healthz");
    assert.deepEqual([h.status, h.body], [200, "ok\n"]);
  } finally {
    await s.close();
  }
});

test("grpc-echo: unary and bidi streaming with a grpc-js client", async () => {
  const s = await startGrpcEcho({ name: "grpc-echo", port: 0, host: "127.0.0.1" });
  const pkg = echoPackage();
  const client = new pkg.Echo(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure());
  try {
    const reply = await new Promise<EchoReply>((resolve, reject) =>
      client.Echo({ message: "hello" }, (err: Error | null, r: EchoReply) => (err ? reject(err) : resolve(r))),
    );
    assert.equal(reply.message, "hello");
    assert.equal(reply.server, "grpc-echo");
    assert.equal(reply.authority, `127.0.0.1:${s.port}`);
    const call = client.EchoStream();
    const got: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", (r: EchoReply) => got.push(r.message));
      call.on("end", resolve);
      call.on("error", reject);
    });
    call.write({ message: "a" });
    call.write({ message: "b" });
    call.end();
    await done;
    assert.deepEqual(got, ["a", "b"]);
  } finally {
    client.close();
    await s.close();
  }
});

test("ws-echo: greets, echoes text and binary; plain HTTP gets 426", async () => {
  const s = await startWsEcho({ name: "ws-echo", port: 0, host: "127.0.0.1" });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws`);
    const msgs: { data: string; binary: boolean }[] = [];
    let wake = () => {};
    // listen before "open": the greeting can arrive in the same read as the handshake
    ws.on("message", (d, binary) => {
      msgs.push({ data: d.toString(), binary });
      wake();
    });
    const waitFor = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`only ${msgs.length} messages`)), 3000);
        wake = () => {
          if (msgs.length >= n) {
            clearTimeout(t);
            resolve();
          }
        };
        wake();
      });
    await new Promise<void>((resolve, reject) => ws.once("open", () => resolve()).once("error", reject));
    const all = waitFor(3);
    ws.send("ping");
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await all;
    assert.deepEqual(JSON.parse(msgs[0].data), { hello: "ws-echo", host: `127.0.0.1:${s.port}` });
    assert.deepEqual(msgs[1], { data: "ping", binary: false });
    assert.equal(msgs[2].binary, true);
    ws.close();
    const plain = await get(s.port, "/ws");
    assert.equal(plain.status, 426);
    assert.equal((await get(s.port, "/healthz")).status, 200);
  } finally {
    await s.close();
  }
});
