// ECDS: the wasm filter's configuration, the APISIX objects as its JSON.
import { filterConfigJson, isObj, type ApisixConfig } from "../apisix/index.ts";
import { TYPE_URL } from "../protos.ts";
import type { Json } from "../snapshot.ts";
import { envoySide, FILTER_NAME, T, type Resolved } from "./options.ts";

export function extensionConfig(apisix: Partial<ApisixConfig>, o: Resolved): Json {
  return {
    "@type": TYPE_URL.extensionConfig,
    name: FILTER_NAME,
    typed_config: {
      "@type": T.wasm,
      config: {
        name: FILTER_NAME,
        root_id: FILTER_NAME,
        // vm_id and code never change between versions: a config-only update
        // keeps the VMs (changing them leaks V8 memory, istio#27671).
        vm_config: {
          vm_id: FILTER_NAME,
          runtime: "envoy.wasm.runtime.v8",
          code: { local: { filename: o.wasmPath } },
        },
        configuration: { "@type": T.stringValue, value: filterConfigJson(redactKeys(apisix), o.dns ?? {}, o.health ?? {}, envoySide(o)) },
      },
    },
  };
}

/**
 * The objects without private keys: Envoy's /config_dump prints the wasm
 * configuration in clear (it redacts only its own secret fields), and the
 * filter needs ids and types, nothing secret. `_redacted: true` tells the
 * filter the key was there and was validated before it was removed. The
 * keys still reach Envoy where they are needed, inside the clusters' TLS
 * contexts, which /config_dump redacts.
 */
export function redactKeys(apisix: Partial<ApisixConfig>): Partial<ApisixConfig> {
  const tlsOf = (u: unknown): unknown => {
    if (!isObj(u) || !isObj(u.tls) || u.tls.client_key === undefined) return u;
    const { client_key: _k, ...tls } = u.tls;
    return { ...u, tls: { ...tls, _redacted: true } };
  };
  const ssls = (apisix.ssls ?? []).map((x) => {
    if (!isObj(x) || (x.key === undefined && x.keys === undefined)) return x;
    const { key: _k, keys: _ks, ...rest } = x;
    return { ...rest, _redacted: true };
  });
  const mapUpstreams = (list: unknown[] | undefined, inline: boolean) =>
    (list ?? []).map((x) => {
      if (!inline) return tlsOf(x);
      if (!isObj(x)) return x;
      let y: Json = x;
      if (isObj(y.upstream) && isObj((y.upstream as Json).tls)) y = { ...y, upstream: tlsOf(y.upstream) };
      const ts = isObj(y.plugins) ? (y.plugins as Json)["traffic-split"] : undefined;
      if (isObj(ts) && Array.isArray(ts.rules))
        y = {
          ...y,
          plugins: {
            ...(y.plugins as Json),
            "traffic-split": {
              ...ts,
              rules: ts.rules.map((r) =>
                isObj(r) && Array.isArray(r.weighted_upstreams)
                  ? { ...r, weighted_upstreams: r.weighted_upstreams.map((w) => (isObj(w) && isObj(w.upstream) ? { ...w, upstream: tlsOf(w.upstream) } : w)) }
                  : r,
              ),
            },
          },
        };
      return y;
    });
  return {
    routes: mapUpstreams(apisix.routes, true) as Json[],
    upstreams: mapUpstreams(apisix.upstreams, false) as Json[],
    services: mapUpstreams(apisix.services, true) as Json[],
    ssls: ssls as Json[],
  };
}
