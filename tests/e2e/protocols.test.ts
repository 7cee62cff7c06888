// Protocols through the real Envoy: websocket upgrades (gated by
// enable_websocket), gRPC over h2c (unary, server streaming, bidi), and an
// HTTP/2 client in front of HTTP/1.1 upstreams. One stack for the file.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { stringify } from "yaml";
import { startHttpEcho, type Started } from "../../examples/upstreams/http-echo.ts";
import grpc from "@grpc/grpc-js";
import { echoPackage, startGrpcEcho } from "../../examples/upstreams/grpc-echo.ts";
import { startWsEcho } from "../../examples/upstreams/ws-echo.ts";
import { LB_MODES, type Stack, startStacks, until, type LbMode } from "./stack.ts";
import { WsClient, echoClient, h2request, pingPong, repeat, unary, type GrpcError } from "./clients.ts";

let stacks: Record<LbMode, Stack>;
const ups: { close(): Promise<void> }[] = [];
let e1: Started, e2: Started, ws: { port: number }, grpcUp: { port: number };

before(async () => {
  [e1, e2, ws, grpcUp] = await Promise.all([
    startHttpEcho({ name: "e1", port: 0, host: "127.0.0.1" }),
    startHttpEcho({ name: "e2", port: 0, host: "127.0.0.1" }),
    startWsEcho({ name: "ws-echo", port: 0, host: "127.0.0.1" }),
    startGrpcEcho({ name: "grpc-echo", port: 0, host: "127.0.0.1" }),
  ]);
  ups.push(e1, e2, ws as never, grpcUp as never);
  const node = (port: number) => ({ [`127.0.0.1:${port}`]: 1 });
  const config = {
    routes: [
      // read timeout 1 s on every upstream below: streams must outlive it
      { id: "ws", uri: "/ws", hosts: ["ws.example"], enable_websocket: true, upstream: { nodes: node(ws.port), timeout: { connect: 2, send: 1, read: 1 } } },
      { id: "ws-off", uri: "/ws", hosts: ["nows.example"], upstream: { nodes: node(ws.port) } },
      { id: "ws-svc", uri: "/ws", hosts: ["svc.example"], service_id: "wsvc" },
      { id: "plain", uri: "/plain", upstream: { nodes: node(e1.port) } },
      { id: "api", uri: "/api/*", upstream_id: "two" },
      { id: "grpc", uri: "/echo.Echo/*", upstream: { scheme: "grpc", nodes: node(grpcUp.port), timeout: { connect: 2, send: 1, read: 1 } } },
      { id: "grpc-gone", uri: "/gone.Svc/*", upstream_id: "missing" },
    ],
    services: [{ id: "wsvc", enable_websocket: true, upstream: { nodes: node(ws.port) } }],
    upstreams: [{ id: "two", type: "roundrobin", nodes: { ...node(e1.port), ...node(e2.port) } }],
  };
  stacks = await startStacks({ config: stringify(config) });
});

after(async () => {
  await Promise.all(Object.values(stacks ?? {}).map((s) => s.stop()));
  await Promise.all(ups.map((u) => u.close()));
});

// Every test runs against both cluster modes (one stack each, booted side by side).
for (const mode of LB_MODES)
  describe(mode, () => {
    let stack: Stack;
    before(() => {
      stack = stacks[mode];
    });

    const wsUrl = () => `ws://127.0.0.1:${stack.port}/ws`;

    test("websocket with enable_websocket: upgrade, greeting from the upstream, echo; idle longer than timeout.read", async () => {
      const c = await WsClient.open(wsUrl(), { host: "ws.example" });
      try {
        assert.deepEqual(JSON.parse(await c.nth(0)), { hello: "ws-echo", host: "ws.example" });
        c.ws.send("ping");
        assert.equal(await c.nth(1), "ping");
        // The filter gives no x-envoy-upstream-rq-timeout-ms to an upgrade: an
        // idle websocket outlives the upstream's 1 s read timeout.
        await new Promise((r) => setTimeout(r, 1500));
        c.ws.send("still here");
        assert.equal(await c.nth(2), "still here");
      } finally {
        await c.close();
      }
      await stack.envoy.waitFor(/enabled websocket for route: ws/, 5000);
    });

    test("websocket enabled on the service: a route in it upgrades", async () => {
      const c = await WsClient.open(wsUrl(), { host: "svc.example" });
      try {
        assert.equal(JSON.parse(await c.nth(0)).hello, "ws-echo");
        c.ws.send("svc");
        assert.equal(await c.nth(1), "svc");
      } finally {
        await c.close();
      }
    });

    test("websocket without enable_websocket: the upstream sees a plain, complete GET (ws-echo answers 426)", async () => {
      await assert.rejects(WsClient.open(wsUrl(), { host: "nows.example" }), /Unexpected server response: 426/);
      // On an echo upstream: neither Upgrade nor Connection: upgrade arrive, and
      // the request has an end (Envoy's codec keeps an upgrade request open even
      // when the filter removes the upgrade; the filter adds content-length: 0).
      const r = await stack.request({
        path: "/plain",
        headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" },
      });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.server, "e1");
      assert.equal(r.json.headers.upgrade, undefined);
      assert.doesNotMatch(String(r.json.headers.connection ?? ""), /upgrade/i);
      assert.equal(r.json.bodyLength, 0);
    });

    /** Text frames out of a server → client websocket byte stream (unmasked, payloads < 64 KiB). */
    function wsTextFrames(buf: Buffer): string[] {
      const out: string[] = [];
      for (let i = 0; i + 2 <= buf.length; ) {
        let len = buf[i + 1] & 0x7f;
        let at = i + 2;
        if (len === 126) {
          len = buf.readUInt16BE(at);
          at += 2;
        }
        if (at + len > buf.length) break;
        if ((buf[i] & 0x0f) === 1) out.push(buf.subarray(at, at + len).toString("utf8"));
        i = at + len;
      }
      return out;
    }

    /** RFC 8441: a websocket over an HTTP/2 stream (extended CONNECT); Envoy speaks HTTP/1.1 Upgrade to the upstream. */
    async function h2Websocket(
      session: http2.ClientHttp2Session,
      authority: string,
      send: string,
    ): Promise<{ status: number; frames: string[]; body: string }> {
      const req = session.request(
        // RFC 8441 has no Sec-WebSocket-Key; the HTTP/1.1 upstream needs one, so the client sends it along.
        {
          ":method": "CONNECT",
          ":protocol": "websocket",
          ":path": "/ws",
          ":scheme": "http",
          ":authority": authority,
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
        { endStream: false },
      );
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      const status = await new Promise<number>((resolve, reject) => {
        req.once("response", (h) => resolve(Number(h[":status"])));
        req.once("error", reject);
      });
      const frames = () => wsTextFrames(Buffer.concat(chunks));
      if (status === 200) {
        await until("the greeting", () => frames().length >= 1 || undefined, 5000);
        const payload = Buffer.from(send);
        const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
        req.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4])]));
        await until("the echo", () => frames().length >= 2 || undefined, 5000);
      } else {
        await new Promise((r) => req.once("end", r));
      }
      req.close();
      return { status, frames: frames(), body: Buffer.concat(chunks).toString("utf8") };
    }

    test("websocket over HTTP/2 (RFC 8441 extended CONNECT): upgraded with enable_websocket, a plain GET upstream without", async () => {
      const session = http2.connect(`http://127.0.0.1:${stack.port}`);
      try {
        await new Promise((r) => session.once("remoteSettings", r));
        assert.equal(session.remoteSettings.enableConnectProtocol, true, "Envoy offers extended CONNECT (allow_connect)");
        const on = await h2Websocket(session, "ws.example", "over h2");
        assert.equal(on.status, 200);
        assert.deepEqual(JSON.parse(on.frames[0]), { hello: "ws-echo", host: "ws.example" });
        assert.equal(on.frames[1], "over h2");
        const off = await h2Websocket(session, "nows.example", "x");
        assert.equal(off.status, 426);
        assert.match(off.body, /websocket only/);
      } finally {
        session.close();
      }
    });

    test("gRPC over h2c: unary, server streaming and bidi reach the grpc upstream; :authority passes", async () => {
      const client = echoClient(`127.0.0.1:${stack.port}`);
      try {
        const r = await unary(client, "hello");
        assert.deepEqual(r, { message: "hello", server: "grpc-echo", authority: `127.0.0.1:${stack.port}`, client_cert: "" });
        const many = await repeat(client, "n", 5);
        assert.deepEqual(
          many.map((x) => x.message),
          ["n 1", "n 2", "n 3", "n 4", "n 5"],
        );
        assert.ok(many.every((x) => x.server === "grpc-echo"));
        const pp = await pingPong(client, ["a", "b", "c"]);
        assert.deepEqual(
          pp.map((x) => x.message),
          ["a", "b", "c"],
        );
      } finally {
        client.close();
      }
    });

    test("gRPC server stream longer than the upstream's timeout.read is not cut", async () => {
      const client = echoClient(`127.0.0.1:${stack.port}`);
      try {
        const t0 = Date.now();
        const got = await repeat(client, "slow", 4, 500);
        assert.deepEqual(
          got.map((x) => x.message),
          ["slow 1", "slow 2", "slow 3", "slow 4"],
        );
        assert.ok(Date.now() - t0 >= 1400, "the stream really lasted longer than 1 s");
      } finally {
        client.close();
      }
    });

    // Envoy turns a local reply to a gRPC request into a trailers-only answer:
    // HTTP 200, grpc-status from the HTTP status (404 → 12, 502 → 14) and the
    // body as grpc-message.
    test("gRPC: a route miss is APISIX's 404 (UNIMPLEMENTED to a gRPC client); a missing upstream_id is 502 (UNAVAILABLE)", async () => {
      const pkg = echoPackage();
      // same service definition, other paths: /nope.Echo/Echo and /gone.Svc/Echo
      const svc = (prefix: string): grpc.ServiceDefinition =>
        Object.fromEntries(Object.entries(pkg.Echo.service as grpc.ServiceDefinition).map(([k, v]) => [k, { ...v, path: `/${prefix}/${k}` }]));
      for (const [prefix, code, status] of [
        ["nope.Echo", grpc.status.UNIMPLEMENTED, 404],
        ["gone.Svc", grpc.status.UNAVAILABLE, 502],
      ] as const) {
        const Ctor = grpc.makeGenericClientConstructor(svc(prefix), prefix);
        const c: any = new Ctor(`127.0.0.1:${stack.port}`, grpc.credentials.createInsecure());
        try {
          const err = await unary(c, "x").then(
            () => undefined,
            (e: GrpcError) => e,
          );
          assert.ok(err, `${prefix}: expected an error`);
          assert.equal(err.code, code, `${prefix}: ${err.message}`);
          assert.match(err.details, new RegExp(String(status)));
        } finally {
          c.close();
        }
      }
      await stack.envoy.waitFor(/failed to find upstream by id: missing/, 5000);
      // on the wire: grpc-message is APISIX's 502 page with only CR/LF escaped (host/ sends the same)
      const session = http2.connect(`http://127.0.0.1:${stack.port}`);
      try {
        const raw = await h2request(session, { ":method": "POST", ":path": "/gone.Svc/Echo", "content-type": "application/grpc", te: "trailers" }, "");
        const page = await stack.get("/gone.Svc/Echo");
        assert.equal(page.status, 502);
        assert.equal(raw.status, 200);
        assert.equal(raw.headers["grpc-status"], "14");
        assert.equal(raw.headers["grpc-message"], page.body.replace(/\r/g, "%0D").replace(/\n/g, "%0A"));
      } finally {
        session.close();
      }
    });

    test("HTTP/2 client (h2c) to HTTP/1.1 upstreams: Host from :authority, body, round robin across streams of one connection", async () => {
      const session = http2.connect(`http://127.0.0.1:${stack.port}`);
      try {
        const replies = await Promise.all(
          [0, 1, 2, 3].map((i) =>
            h2request(session, { ":method": "POST", ":path": `/api/h2/${i}`, ":authority": "h2.example", "content-type": "text/plain" }, "x".repeat(10 + i)),
          ),
        );
        const servers = new Set<string>();
        replies.forEach((r, i) => {
          assert.equal(r.status, 200, r.body);
          const j = JSON.parse(r.body);
          assert.equal(j.httpVersion, "1.1");
          assert.equal(j.host, "h2.example");
          assert.equal(j.method, "POST");
          assert.equal(j.url, `/api/h2/${i}`);
          assert.equal(j.bodyLength, 10 + i);
          servers.add(j.server);
        });
        assert.deepEqual([...servers].sort(), ["e1", "e2"]);
        const miss = await h2request(session, { ":path": "/nothing", ":authority": "h2.example" });
        assert.equal(miss.status, 404);
        assert.equal(miss.body.trim(), '{"error_msg":"404 Route Not Found"}');
      } finally {
        session.close();
      }
    });
  });
