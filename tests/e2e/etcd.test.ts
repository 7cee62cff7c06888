// A route change written to etcd the way APISIX's Admin API writes it ends as
// a request the real Envoy answers from the new upstream: etcd -> control
// plane (--etcd) -> ADS -> Envoy -> the filter.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startHttpEcho } from "../../examples/upstreams/http-echo.ts";
import { EtcdClient } from "../../envoy/control-plane/etcd-client.ts";
import { stored } from "../etcd/admin.ts";
import { EtcdServer, etcdMissing } from "../etcd/etcd.ts";
import { Stack, until } from "./stack.ts";

test("etcd -> control plane -> Envoy: a route created, repointed to another upstream and deleted through etcd", { skip: etcdMissing() }, async () => {
  const [echo1, echo2, etcd] = await Promise.all([
    startHttpEcho({ name: "echo-1", port: 0, host: "127.0.0.1" }),
    startHttpEcho({ name: "echo-2", port: 0, host: "127.0.0.1" }),
    EtcdServer.start(),
  ]);
  const w = new EtcdClient({ endpoints: [etcd.url] });
  let stack: Stack | undefined;
  try {
    // PUT /apisix/admin/upstreams/1 and /2, PUT /apisix/admin/routes/1
    await w.put("/apisix/upstreams/1", stored("upstreams", "1", { nodes: { [`127.0.0.1:${echo1.port}`]: 1 } }));
    await w.put("/apisix/upstreams/2", stored("upstreams", "2", { nodes: { [`127.0.0.1:${echo2.port}`]: 1 } }));
    await w.put("/apisix/routes/1", stored("routes", "1", { uri: "/shop/*", upstream_id: "1" }));
    stack = await Stack.start({ controlPlaneArgs: ["--etcd", etcd.url, "--etcd-prefix", "/apisix"] });
    assert.match(stack.cp.out, /etcd: read \d+ keys \(3 objects\) under \/apisix\/ at revision \d+/);

    const r1 = await stack.get("/shop/cart");
    assert.equal(r1.status, 200, r1.body);
    assert.equal(r1.json.server, "echo-1");

    // PATCH-like update through the Admin API: the route now points at upstream 2
    await w.put("/apisix/routes/1", stored("routes", "1", { uri: "/shop/*", upstream_id: "2" }));
    const r2 = await until(
      "the route served by echo-2",
      async () => {
        const r = await stack!.get("/shop/cart");
        return r.json?.server === "echo-2" ? r : undefined;
      },
      20_000,
      50,
    );
    assert.equal(r2.status, 200);

    // DELETE /apisix/admin/routes/1
    await w.delete("/apisix/routes/1");
    const r3 = await until(
      "APISIX's 404 once the route is deleted",
      async () => {
        const r = await stack!.get("/shop/cart");
        return r.status === 404 ? r : undefined;
      },
      20_000,
      50,
    );
    assert.equal(r3.body.trim(), '{"error_msg":"404 Route Not Found"}');
    assert.doesNotMatch(stack.envoy.out, /configuration rejected/);
  } finally {
    w.close();
    await stack?.stop();
    await Promise.all([echo1.close(), echo2.close(), etcd.stop()]);
  }
});
