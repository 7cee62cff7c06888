// What APISIX's Admin API stores in etcd for a PUT /apisix/admin/<kind>/<id>:
// the body with the schema's defaults filled in (APISIX validates with
// default injection), the id, create_time/update_time (seconds), and private
// keys encrypted with the default keyring. Shapes from APISIX's Admin API
// documentation and apisix/schema_def.lua.
import { encryptPkey } from "../../envoy/control-plane/etcd-keyring.ts";

type Obj = Record<string, unknown>;

function upstreamDefaults(u: Obj): Obj {
  const out: Obj = { type: "roundrobin", hash_on: "vars", scheme: "http", pass_host: "pass", ...u };
  const tls = out.tls as Obj | undefined;
  if (tls && typeof tls.client_key === "string") out.tls = { ...tls, client_key: encryptPkey(tls.client_key) };
  return out;
}

export function stored(kind: "routes" | "upstreams" | "services" | "ssls", id: string, body: Obj, time = 1764547200): string {
  let v: Obj = { ...body };
  if (kind === "routes") {
    v = { priority: 0, status: 1, ...v };
    if (v.upstream) v.upstream = upstreamDefaults(v.upstream as Obj);
  } else if (kind === "services") {
    if (v.upstream) v.upstream = upstreamDefaults(v.upstream as Obj);
  } else if (kind === "upstreams") {
    v = upstreamDefaults(v);
  } else if (kind === "ssls") {
    v = { type: "server", status: 1, ...v };
    if (typeof v.key === "string") v.key = encryptPkey(v.key);
  }
  return JSON.stringify({ ...v, id, create_time: time, update_time: time });
}
