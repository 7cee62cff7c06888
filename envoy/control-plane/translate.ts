// APISIX config → one xDS snapshot (listeners, routes, clusters, ECDS), pure.
//
// Shape of what Envoy gets (design notes in envoy/README-control-plane.md):
//   LDS  one listener, HCM: path normalisation, websocket upgrades (h1 and
//        RFC 8441 over h2), early header mutation stripping client-sent
//        x-apisix-upstream / x-envoy-original-dst-host / x-apisix-upstream-hosts,
//        then the wasm filter
//        (ECDS "apisix-upstream") and the router. Routes come from RDS via ADS.
//   RDS  one catch-all route: cluster from the `x-apisix-upstream` header the
//        filter sets; unknown/missing cluster → 503; no route timeout.
//   CDS  one cluster per APISIX upstream definition, in one of two modes
//        (opts.lbMode):
//          override-host (default) STATIC with the upstream's nodes as
//                        endpoints and the override_host LB policy reading
//                        the filter's try plan x-apisix-upstream-hosts
//                        (Envoy >= 1.35; retries walk APISIX's order, as
//                        tests/e2e/retries.test.ts shows in Envoy 1.40).
//          original-dst  ORIGINAL_DST, no endpoints; the filter pins the
//                        endpoint with the original_dst_address filter state
//                        (any Envoy with wasm; retries go back to that node).
//        Each cluster's upstream filters drop the try plan from the request
//        as it leaves for the node.
//   ECDS the wasm filter with the APISIX objects (+dns, +health) as its JSON.
import { createHash } from "node:crypto";
import { upstreamSites, withClusterNames, type ApisixConfig } from "./apisix/index.ts";
import type { Issue, Json, Snapshot } from "./snapshot.ts";
import { tlsListener } from "./tls-listener.ts";
import { clusterFor } from "./translate/cluster.ts";
import { extensionConfig } from "./translate/ecds.ts";
import { httpConnectionManager, listener } from "./translate/listener.ts";
import { DEFAULTS, LB_MODES, type Resolved, type TranslateOptions } from "./translate/options.ts";
import { routeConfiguration } from "./translate/route.ts";

// The public API: each resource kind is built in translate/<kind>.ts.
export { clusterName, CLUSTER_HEADER, ORIGINAL_DST_HEADER, PLAN_HEADER } from "./apisix/index.ts";
export { ACCESS_LOG_FORMAT, CLIENT_ENVOY_HEADERS, nginxErrorPage } from "./translate/listener.ts";
export { endpointsByCluster, overrideHostPolicy } from "./translate/cluster.ts";
export { redactKeys } from "./translate/ecds.ts";
export { DEFAULTS, envoySide, FILTER_NAME, LB_MODES, seconds, type LbMode, type TranslateOptions } from "./translate/options.ts";

// The snapshot's types live with the server that publishes it; re-exported
// here because translate() is what builds them.
export { KIND_TYPE_URL, ecdsConfiguration, type Issue, type Json, type ResourceKind, type Snapshot } from "./snapshot.ts";

function hashOf(v: unknown): string {
  return createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 16);
}

/**
 * Translates APISIX objects that the filter's validation accepted (see
 * validate.ts: the control plane never translates anything else, so this
 * file has no rules of its own about what is valid) into a snapshot.
 * Throws on what can only be a bug (two upstreams with one cluster name).
 */
export function translate(apisix: Partial<ApisixConfig>, opts: TranslateOptions = {}): Snapshot {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as Resolved;
  if (!LB_MODES.includes(o.lbMode)) throw new Error(`unknown lbMode ${JSON.stringify(o.lbMode)} (one of ${LB_MODES.join(", ")})`);
  const issues: Issue[] = [];
  const named = withClusterNames(apisix as Json) as Partial<ApisixConfig>;

  const clusters: Json[] = [];
  const seen = new Map<string, string>();
  for (const site of upstreamSites(named as Json)) {
    const prev = seen.get(site.cluster);
    if (prev !== undefined) throw new Error(`cluster name "${site.cluster}" of ${site.path} is also the name of ${prev}`);
    seen.set(site.cluster, site.path);
    clusters.push(clusterFor(site, named, o, issues));
  }

  const hcm = httpConnectionManager(o);
  const listeners = [listener(o, hcm)];
  let secrets: Json[] = [];
  if (o.tlsListenerPort !== null) {
    const tls = tlsListener(apisix, { port: o.tlsListenerPort, address: o.listenerAddress, fallbackSni: o.fallbackSni, hcm });
    if (tls.listener) listeners.push(tls.listener);
    secrets = tls.secrets;
    issues.push(...tls.issues);
  }
  const routes = [routeConfiguration(o)];
  const extensionConfigs = [extensionConfig(named, o)];
  const resources = { clusters, listeners, routes, extensionConfigs, secrets };
  const versions = {
    clusters: hashOf(clusters),
    listeners: hashOf(listeners),
    routes: hashOf(routes),
    extensionConfigs: hashOf(extensionConfigs),
    secrets: hashOf(secrets),
  };
  return { version: hashOf(versions), versions, resources, issues };
}
