// Serialization of property values as Envoy's Context::getProperty does
// (source/extensions/common/wasm/context.cc serializeValue): strings/bytes raw,
// int/uint/double 8 bytes little-endian, bool 1 byte, duration/timestamp int64
// nanoseconds, maps as proxy-wasm pairs whose values are serialized the same way;
// and the attribute tree of one HTTP stream (streamProperty).
import type { HeaderMap } from "./headers.ts";
import { encodePairs, utf8, type Pair } from "./pairs.ts";

export type PropertyValue =
  | { t: "string"; v: string }
  | { t: "bytes"; v: Uint8Array }
  | { t: "int"; v: bigint }
  | { t: "bool"; v: boolean }
  | { t: "timestamp"; ns: bigint }
  | { t: "duration"; ns: bigint }
  | { t: "map"; entries: Array<[string, PropertyValue]>; lookup?: (key: string) => PropertyValue | undefined };

export const str = (v: string): PropertyValue => ({ t: "string", v });
export const int = (v: number | bigint): PropertyValue => ({ t: "int", v: BigInt(v) });
export const bool = (v: boolean): PropertyValue => ({ t: "bool", v });

export function serialize(p: PropertyValue): Uint8Array {
  switch (p.t) {
    case "string":
      return utf8(p.v);
    case "bytes":
      return p.v;
    case "int":
    case "timestamp":
    case "duration": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, BigInt.asIntN(64, p.t === "int" ? p.v : p.ns), true);
      return b;
    }
    case "bool":
      return Uint8Array.of(p.v ? 1 : 0);
    case "map": {
      // Values in a map are serialized recursively and carried as (binary-safe) strings.
      const pairs: Pair[] = p.entries.map(([k, v]) => [k, Buffer.from(serialize(v)).toString("latin1")]);
      return encodePairsBinary(pairs);
    }
  }
}

/** encodePairs, but values given as latin1 strings holding raw bytes. */
function encodePairsBinary(pairs: Pair[]): Uint8Array {
  return encodePairs(pairs, (v) => Buffer.from(v, "latin1"));
}

/** Walk the remaining path segments into map values (Envoy: map lookup per segment;
 *  a segment into a non-map value is NotFound). */
export function descend(v: PropertyValue | undefined, rest: string[]): PropertyValue | undefined {
  let cur = v;
  for (const seg of rest) {
    if (cur?.t !== "map") return undefined;
    cur = cur.lookup ? cur.lookup(seg) : cur.entries.find(([k]) => k === seg)?.[1];
  }
  return cur;
}

/** Split an `ip:port` / `[ip6]:port` address into its parts. */
export function splitAddress(addr: string): { ip: string; port: number } | undefined {
  const m = /^\[(.*)\]:(\d+)$/.exec(addr) ?? /^([^:]*):(\d+)$/.exec(addr);
  if (!m) return undefined;
  return { ip: m[1], port: Number(m[2]) };
}

/**
 * What one HTTP stream's attribute tree reads: a snapshot HttpStream hands over
 * for each proxy_get_property (the value is serialized at once).
 */
export interface StreamFacts {
  /** Downstream remote / local address, "ip:port". */
  source: string;
  destination: string;
  protocol: string;
  mtls: boolean;
  requestedServerName: string;
  /** Absent on a plain-text connection: Envoy then has no connection.tls_version. */
  tlsVersion: string | undefined;
  peerSubject: string;
  connectionId: number;
  requestHeaders: HeaderMap;
  responseHeaders: HeaderMap | undefined;
  responseTrailers: HeaderMap | undefined;
  startNs: bigint;
  durationNs: bigint | undefined;
  responseCode: number | undefined;
  codeDetails: string | undefined;
  responseFlags: number;
  grpcStatusOverride: number | undefined;
  upstreamAddress: string | undefined;
  attemptCount: number | undefined;
  forwardedBodyBytes: number;
  /** Bytes of the response body, once the stream completed. */
  responseBodyBytes: number | undefined;
  /** set_property's CelState ("wasm.<name>" in filter state). */
  celState(name: string): Uint8Array | undefined;
  /** plugin_name & co., the same in every context. */
  pluginProperty(name: string): PropertyValue | undefined;
}

/** Envoy's attribute tree for an HTTP stream (docs: arch_overview/advanced/attributes). */
export function streamProperty(f: StreamFacts, segments: string[]): PropertyValue | undefined {
  const [top, ...rest] = segments;
  if (top === undefined) return undefined;
  const plugin = f.pluginProperty(top);
  if (plugin) return descend(plugin, rest);
  let v: PropertyValue | undefined;
  switch (top) {
    case "request":
      v = lazyMap(
        ["path", "url_path", "host", "scheme", "method", "headers", "referer", "useragent", "time", "id", "protocol", "query", "duration", "size"],
        (k) => requestField(f, k),
      );
      break;
    case "response":
      v = lazyMap(["code", "code_details", "flags", "grpc_status", "headers", "trailers", "size"], (k) => responseField(f, k));
      break;
    case "source":
    case "destination": {
      const addr = top === "source" ? f.source : f.destination;
      v = addressMap(addr);
      break;
    }
    case "upstream":
      if (f.upstreamAddress === undefined && f.attemptCount === undefined) return undefined;
      v = lazyMap(["address", "port", "request_attempt_count"], (k) => {
        const a = f.upstreamAddress !== undefined ? splitAddress(f.upstreamAddress) : undefined;
        if (k === "address") return f.upstreamAddress !== undefined ? str(f.upstreamAddress) : undefined;
        if (k === "port") return a ? int(a.port) : undefined;
        if (k === "request_attempt_count") return int(f.attemptCount ?? 1);
        return undefined;
      });
      break;
    case "connection":
      v = lazyMap(["id", "mtls", "requested_server_name", "tls_version", "subject_peer_certificate"], (k) => {
        if (k === "id") return int(f.connectionId);
        if (k === "mtls") return bool(f.mtls);
        if (k === "requested_server_name") return str(f.requestedServerName);
        // Envoy answers these only for a TLS connection
        if (k === "tls_version") return f.tlsVersion !== undefined ? str(f.tlsVersion) : undefined;
        if (k === "subject_peer_certificate") return f.tlsVersion !== undefined ? str(f.peerSubject) : undefined;
        return undefined;
      });
      break;
    case "connection_id":
      v = int(f.connectionId);
      break;
    default: {
      // Unknown names fall back to the CelState set_property wrote ("wasm.<name>").
      const st = f.celState(top);
      v = st ? { t: "bytes", v: st } : undefined;
    }
  }
  return descend(v, rest);
}

function lazyMap(keys: string[], get: (k: string) => PropertyValue | undefined): PropertyValue {
  return {
    t: "map",
    get entries() {
      const out: Array<[string, PropertyValue]> = [];
      for (const k of keys) {
        const x = get(k);
        if (x) out.push([k, x]);
      }
      return out;
    },
    lookup: get,
  };
}

function addressMap(addr: string): PropertyValue {
  const a = splitAddress(addr);
  return lazyMap(["address", "port"], (k) => (k === "address" ? str(addr) : k === "port" && a ? int(a.port) : undefined));
}

function headersProperty(m: HeaderMap): PropertyValue {
  const joined = m.joined();
  return {
    t: "map",
    entries: joined.map(([k, v]) => [k, str(v)]),
    lookup: (k) => {
      const all = m.getAll(k);
      return all.length ? str(all.join(",")) : undefined;
    },
  };
}

function requestField(f: StreamFacts, k: string): PropertyValue | undefined {
  const h = f.requestHeaders;
  const path = h.get(":path");
  switch (k) {
    case "path":
      return path !== undefined ? str(path) : undefined;
    case "url_path":
      return path !== undefined ? str(path.split("?")[0]) : undefined;
    case "query": {
      if (path === undefined) return undefined;
      const i = path.indexOf("?");
      return str(i < 0 ? "" : path.slice(i + 1));
    }
    case "host":
      return h.get(":authority") !== undefined ? str(h.get(":authority")!) : undefined;
    case "scheme":
      return h.get(":scheme") !== undefined ? str(h.get(":scheme")!) : undefined;
    case "method":
      return h.get(":method") !== undefined ? str(h.get(":method")!) : undefined;
    case "headers":
      return headersProperty(h);
    case "referer":
      return h.get("referer") !== undefined ? str(h.get("referer")!) : undefined;
    case "useragent":
      return h.get("user-agent") !== undefined ? str(h.get("user-agent")!) : undefined;
    case "id":
      return h.get("x-request-id") !== undefined ? str(h.get("x-request-id")!) : undefined;
    case "time":
      return { t: "timestamp", ns: f.startNs };
    case "protocol":
      return str(f.protocol);
    case "duration":
      return f.durationNs !== undefined ? { t: "duration", ns: f.durationNs } : undefined;
    case "size": {
      const cl = h.get("content-length");
      return int(cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : f.forwardedBodyBytes);
    }
  }
  return undefined;
}

function responseField(f: StreamFacts, k: string): PropertyValue | undefined {
  switch (k) {
    case "code":
      return f.responseCode !== undefined ? int(f.responseCode) : undefined;
    case "code_details":
      return f.codeDetails !== undefined ? str(f.codeDetails) : undefined;
    case "flags":
      return int(f.responseFlags);
    case "grpc_status": {
      if (f.grpcStatusOverride !== undefined) return int(f.grpcStatusOverride);
      const g = f.responseTrailers?.get("grpc-status") ?? f.responseHeaders?.get("grpc-status");
      return g !== undefined && /^\d+$/.test(g) ? int(Number(g)) : undefined;
    }
    case "headers":
      return f.responseHeaders ? headersProperty(f.responseHeaders) : undefined;
    case "trailers":
      return f.responseTrailers ? headersProperty(f.responseTrailers) : undefined;
    case "size":
      return f.responseBodyBytes !== undefined ? int(f.responseBodyBytes) : undefined;
  }
  return undefined;
}
