// apisix.router.http: the filter owns the router names (assembly/router.ts
// ROUTER_NAMES); the control plane's flag, translate() and the validator pass
// the choice through, and the filter routes by it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProxyWasmHost } from "../../host/index.ts";
import { ROUTER_HTTP_NAMES, filterConfigJson } from "../../envoy/control-plane/apisix/index.ts";
import { ArgError, parseArgs } from "../../envoy/control-plane/main.ts";
import { ecdsConfiguration, envoySide, translate } from "../../envoy/control-plane/translate.ts";
import { WasmValidator } from "../../envoy/control-plane/validate.ts";

const FILTER_WASM = new URL("../../build/filter.wasm", import.meta.url).pathname;
const ROUTES = {
  routes: [
    { id: "param", uri: "/user/:name/profile", upstream: { nodes: { "127.0.0.1:1980": 1 } } },
    { id: "literal", uri: "/user/*", upstream: { nodes: { "127.0.0.1:1981": 1 } } },
  ],
};

async function routeOf(config: string, path: string): Promise<string> {
  const host = await ProxyWasmHost.load(FILTER_WASM, { rootId: "apisix-upstream" });
  assert.equal(host.configure(config), true, host.logs.map((l) => l.message).join("\n"));
  const r = host.request({ method: "GET", path, authority: "example.com", source: "127.0.0.1:40000" });
  return r.localReply ? String(r.localReply.status) : String(r.header("x-apisix-upstream"));
}

test("the filter accepts exactly the router names the control plane offers", async () => {
  const validator = await WasmValidator.load(FILTER_WASM);
  for (const name of ROUTER_HTTP_NAMES) {
    const v = await validator.accepts(filterConfigJson({}, {}, {}, { lb_mode: "override-host", router_http: name }));
    assert.equal(v.ok, true, `${name}: ${v.errors.join("; ")}`);
  }
  const bad = await validator.accepts(filterConfigJson({}, {}, {}, { lb_mode: "override-host", router_http: "radixtree_nope" as never }));
  assert.equal(bad.ok, false);
  assert.match(
    bad.errors.join("\n"),
    /envoy\.router_http: "radixtree_nope" matches none of the enum values \[radixtree_host_uri, radixtree_uri, radixtree_uri_with_parameter\]/,
  );
});

test("--router-http reaches the filter through ECDS and changes what matches", async () => {
  assert.equal(parseArgs(["--config", "x.yaml", "--router-http", "radixtree_uri_with_parameter"]).routerHttp, "radixtree_uri_with_parameter");
  assert.throws(() => parseArgs(["--config", "x.yaml", "--router-http", "radixtree_nope"]), ArgError);

  const plain = ecdsConfiguration(translate(ROUTES));
  assert.equal(JSON.parse(plain).envoy.router_http, undefined);
  const withParams = ecdsConfiguration(translate(ROUTES, { routerHttp: "radixtree_uri_with_parameter" }));
  assert.deepEqual(JSON.parse(withParams).envoy, envoySide({ routerHttp: "radixtree_uri_with_parameter" }));

  // The same path: a literal ':name' under the default router, a parameter here.
  const [literalCluster, paramCluster] = [await routeOf(plain, "/user/jo/profile"), await routeOf(withParams, "/user/jo/profile")];
  assert.notEqual(literalCluster, paramCluster);
  assert.equal(await routeOf(plain, "/user/:name/profile"), paramCluster, "the default router reads ':name' literally");
  assert.match(paramCluster, /param/);
  assert.match(literalCluster, /literal/);
});
