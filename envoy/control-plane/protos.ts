// Envoy's real protos (the data-plane-api snapshot vendored by
// @grpc/grpc-js-xds under deps/) loaded with protobufjs, plus:
//   - a STRICT proto3-JSON checker (`checkResource`, `checkMessage`): unknown
//     fields, wrong JSON types, unknown enum names, multiple members of one
//     oneof, bad Duration/Timestamp strings and unresolvable Any type URLs are
//     errors, reported with a field path. protobufjs' own `fromObject` silently
//     drops unknown keys and coerces types, so it is not used for checking.
//     A small subset of protoc-gen-validate rules is honoured as well
//     (message.required, string.min_len, repeated.min_items, oneof required,
//     enum.defined_only), because Envoy rejects those at load time too.
//   - `encodeAny`/`encodeMessage`: the same walk converts proto3 JSON (Duration
//     strings, wrappers, Struct, Any with "@type") into the object shape
//     protobufjs encodes, so what we check is exactly what we send.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);

export const TYPE_PREFIX = "type.googleapis.com/";
export const TYPE_URL = {
  listener: "type.googleapis.com/envoy.config.listener.v3.Listener",
  route: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  endpoint: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
  extensionConfig: "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
  secret: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
} as const;

/** Every proto file whose messages the control plane emits or checks. */
const ENTRY_PROTOS = [
  "envoy/config/bootstrap/v3/bootstrap.proto",
  "envoy/service/discovery/v3/ads.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/filters/http/wasm/v3/wasm.proto",
  "envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto",
  "envoy/extensions/filters/http/upstream_codec/v3/upstream_codec.proto",
  "envoy/extensions/http/early_header_mutation/header_mutation/v3/header_mutation.proto",
  "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/transport_sockets/tls/v3/secret.proto",
  "envoy/extensions/access_loggers/stream/v3/stream.proto",
  // the HTTPS listener (tls-listener.ts): SNI inspection and the SNI input of its filter_chain_matcher
  "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
  "envoy/extensions/matching/common_inputs/network/v3/network_inputs.proto",
  // override-host mode's fallback policy (the OverrideHost message itself is
  // newer than this snapshot and travels as an xds TypedStruct)
  "envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto",
  "google/protobuf/wrappers.proto",
  "google/protobuf/struct.proto",
  "google/protobuf/timestamp.proto",
  "google/protobuf/field_mask.proto",
  "google/protobuf/empty.proto",
  "xds/type/v3/typed_struct.proto",
];

function includeDirs(): string[] {
  const xdsPkg = path.dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
  const pbjs = path.dirname(require.resolve("protobufjs/package.json"));
  return [
    path.join(xdsPkg, "deps/envoy-api"),
    path.join(xdsPkg, "deps/xds"),
    path.join(xdsPkg, "deps/protoc-gen-validate"),
    path.join(xdsPkg, "deps/googleapis"),
    pbjs, // google/protobuf/descriptor.proto and friends
  ];
}

let cachedRoot: protobuf.Root | undefined;

/** The loaded, fully resolved proto root (loaded once, ~0.3 s). */
export function protoRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const dirs = includeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string) => {
    if (path.isAbsolute(target)) return target;
    for (const d of dirs) {
      const f = path.join(d, target);
      if (fs.existsSync(f)) return f;
    }
    return target; // protobufjs' bundled google/protobuf/* commons
  };
  const entries = ENTRY_PROTOS.filter((p) => p.startsWith("google/") || dirs.some((d) => fs.existsSync(path.join(d, p))));
  root.loadSync(entries, { keepCase: true });
  root.resolveAll();
  cachedRoot = root;
  return root;
}

export function lookupType(name: string): protobuf.Type {
  const n = name.startsWith(TYPE_PREFIX) ? name.slice(TYPE_PREFIX.length) : name;
  return protoRoot().lookupType(n.startsWith(".") ? n : `.${n}`);
}

export interface ProtoIssue {
  path: string;
  message: string;
}

export class ProtoCheckError extends Error {
  constructor(
    public readonly typeName: string,
    public readonly issues: ProtoIssue[],
  ) {
    super(`${typeName}: ${issues.map((i) => `${i.path || "<root>"}: ${i.message}`).join("; ")}`);
    this.name = "ProtoCheckError";
  }
}

// ---------------------------------------------------------------------------
// The strict walk. Returns the protobufjs-shaped object (for encoding) and
// pushes problems into `issues`.

const WRAPPERS = new Set([
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);
/** Well-known types whose JSON form is not an object of their fields. */
const SPECIAL_JSON = new Set([
  ...WRAPPERS,
  "google.protobuf.Duration",
  "google.protobuf.Timestamp",
  "google.protobuf.FieldMask",
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
]);

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

const typeName = (t: protobuf.Type | protobuf.Enum) => t.fullName.replace(/^\./, "");
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const jsonNameOf = (protoName: string) => protoName.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const describe = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
const join = (p: string, k: string) => (p ? `${p}.${k}` : k);

class Walker {
  constructor(private readonly issues: ProtoIssue[]) {}

  err(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  /** JSON value for a message-typed field. */
  message(type: protobuf.Type, json: unknown, p: string): unknown {
    const name = typeName(type);
    if (SPECIAL_JSON.has(name)) return this.special(name, type, json, p);
    if (name === "google.protobuf.Any") return this.any(json, p);
    if (!isPlainObject(json)) return this.err(p, `expected object for ${name}, got ${describe(json)}`);
    return this.fields(type, json, p, new Set());
  }

  fields(type: protobuf.Type, json: Record<string, unknown>, p: string, skip: Set<string>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const seen = new Map<string, string>();
    const byJson = new Map<string, protobuf.Field>();
    for (const f of type.fieldsArray) byJson.set(jsonNameOf(f.name), f);
    for (const [key, value] of Object.entries(json)) {
      if (skip.has(key)) continue;
      const field = type.fields[key] ?? byJson.get(key);
      const fp = join(p, key);
      if (!field) {
        this.err(fp, `unknown field "${key}" in ${typeName(type)}`);
        continue;
      }
      if (seen.has(field.name)) {
        this.err(fp, `field "${field.name}" given twice (as "${seen.get(field.name)}" and "${key}")`);
        continue;
      }
      seen.set(field.name, key);
      if (value === null && !(field.resolvedType && typeName(field.resolvedType) === "google.protobuf.Value")) continue; // proto3 JSON: null = default
      const v = this.field(field, value, fp);
      if (v !== undefined) out[field.name] = v;
    }
    // oneofs: at most one member; protoc-gen-validate "required" oneofs need one.
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((f) => out[f.name] !== undefined);
      if (set.length > 1) this.err(p, `oneof "${oneof.name}" has more than one member set: ${set.map((f) => f.name).join(", ")}`);
      if (set.length === 0 && oneof.options?.["(validate.required)"] === true)
        this.err(p, `oneof "${oneof.name}" requires one of: ${oneof.fieldsArray.map((f) => f.name).join(", ")}`);
    }
    for (const f of type.fieldsArray) {
      const o = f.options ?? {};
      // (a oneof member's "required" only means "non-null when chosen")
      if (o["(validate.rules).message.required"] === true && !f.partOf && out[f.name] === undefined)
        this.err(join(p, f.name), `required field "${f.name}" of ${typeName(type)} is missing`);
    }
    return out;
  }

  field(field: protobuf.Field, value: unknown, p: string): unknown {
    const o = field.options ?? {};
    if (field.map) {
      if (!isPlainObject(value)) return this.err(p, `expected object (map) for "${field.name}", got ${describe(value)}`);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const kp = `${p}[${JSON.stringify(k)}]`;
        const keyType = (field as unknown as protobuf.MapField).keyType;
        if (keyType === "bool" ? !/^(true|false)$/.test(k) : keyType !== "string" && !/^-?\d+$/.test(k))
          this.err(kp, `map key "${k}" is not a valid ${keyType}`);
        if (v === null) {
          this.err(kp, "null map value");
          continue;
        }
        const cv = this.single(field, v, kp);
        if (cv !== undefined) out[k] = cv;
      }
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) return this.err(p, `expected array for repeated "${field.name}", got ${describe(value)}`);
      const min = o["(validate.rules).repeated.min_items"];
      if (typeof min === "number" && value.length < min) this.err(p, `needs at least ${min} item(s)`);
      const out: unknown[] = [];
      value.forEach((v, i) => {
        if (v === null) {
          this.err(`${p}[${i}]`, "null element");
          return;
        }
        const cv = this.single(field, v, `${p}[${i}]`);
        if (cv !== undefined) out.push(cv);
      });
      return out;
    }
    const v = this.single(field, value, p);
    const minLen = o["(validate.rules).string.min_len"];
    if (typeof minLen === "number" && typeof v === "string" && v.length < minLen) this.err(p, `string shorter than ${minLen}`);
    return v;
  }

  single(field: protobuf.Field, value: unknown, p: string): unknown {
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type) return this.message(rt, value, p);
    if (rt instanceof protobuf.Enum) return this.enumValue(rt, value, p, field.options?.["(validate.rules).enum.defined_only"] === true);
    return this.scalar(field.type, value, p);
  }

  enumValue(e: protobuf.Enum, value: unknown, p: string, definedOnly: boolean): unknown {
    if (typeName(e) === "google.protobuf.NullValue") return 0;
    if (typeof value === "string") {
      if (!(value in e.values)) return this.err(p, `unknown ${typeName(e)} value "${value}" (one of ${Object.keys(e.values).join(", ")})`);
      return e.values[value];
    }
    if (typeof value === "number" && Number.isInteger(value)) {
      if (definedOnly && !Object.values(e.values).includes(value)) return this.err(p, `undefined ${typeName(e)} number ${value}`);
      return value;
    }
    return this.err(p, `expected enum ${typeName(e)} name, got ${describe(value)}`);
  }

  scalar(type: string, value: unknown, p: string): unknown {
    switch (type) {
      case "string":
        return typeof value === "string" ? value : this.err(p, `expected string, got ${describe(value)}`);
      case "bool":
        return typeof value === "boolean" ? value : this.err(p, `expected boolean, got ${describe(value)}`);
      case "bytes":
        if (typeof value !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) return this.err(p, "expected base64 string");
        return value;
      case "double":
      case "float":
        if (typeof value === "number") return value;
        if (typeof value === "string" && (/^(NaN|-?Infinity)$/.test(value) || (value.trim() !== "" && !Number.isNaN(Number(value))))) return Number(value);
        return this.err(p, `expected number, got ${describe(value)}`);
      default: {
        const range = INT_RANGES[type];
        if (!range) return this.err(p, `unsupported scalar type ${type}`);
        let n: bigint;
        if (typeof value === "number" && Number.isInteger(value)) n = BigInt(value);
        else if (typeof value === "string" && /^-?\d+$/.test(value)) n = BigInt(value);
        else return this.err(p, `expected integer (${type}), got ${describe(value)}${typeof value === "number" ? ` ${value}` : ""}`);
        if (n < range[0] || n > range[1]) return this.err(p, `${n} out of range for ${type}`);
        return type.endsWith("64") ? n.toString() : Number(n);
      }
    }
  }

  any(json: unknown, p: string): unknown {
    if (!isPlainObject(json)) return this.err(p, `expected Any object, got ${describe(json)}`);
    const url = json["@type"];
    if (typeof url !== "string") return this.err(join(p, "@type"), `Any needs a string "@type"`);
    const slash = url.lastIndexOf("/");
    let inner: protobuf.Type;
    try {
      inner = protoRoot().lookupType(`.${url.slice(slash + 1)}`);
    } catch {
      return this.err(join(p, "@type"), `unknown type URL "${url}"`);
    }
    let obj: unknown;
    if (SPECIAL_JSON.has(typeName(inner)) || typeName(inner) === "google.protobuf.Any") {
      for (const k of Object.keys(json)) if (k !== "@type" && k !== "value") this.err(join(p, k), `unknown field "${k}" in Any of ${typeName(inner)}`);
      if (!("value" in json)) return this.err(join(p, "value"), `Any of ${typeName(inner)} needs "value"`);
      obj = this.message(inner, json.value, join(p, "value"));
    } else {
      obj = this.fields(inner, json, p, new Set(["@type"]));
    }
    if (obj === undefined) return undefined;
    const bytes = inner.encode(inner.fromObject(obj as Record<string, unknown>)).finish();
    return { type_url: url, value: bytes };
  }

  special(name: string, type: protobuf.Type, json: unknown, p: string): unknown {
    if (WRAPPERS.has(name)) {
      const v = this.scalar(type.fields.value.type, json, p);
      return v === undefined ? undefined : { value: v };
    }
    switch (name) {
      case "google.protobuf.Duration": {
        const m = typeof json === "string" ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(json) : null;
        if (!m) return this.err(p, `expected Duration string like "1.5s", got ${JSON.stringify(json)}`);
        const seconds = BigInt(m[2]);
        if (seconds > 315576000000n) return this.err(p, "Duration out of range");
        const nanos = m[3] ? Number(m[3].padEnd(9, "0")) : 0;
        return { seconds: (m[1] ? -seconds : seconds).toString(), nanos: m[1] ? -nanos : nanos };
      }
      case "google.protobuf.Timestamp": {
        const ok = typeof json === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(json);
        if (!ok || Number.isNaN(Date.parse(json as string))) return this.err(p, `expected RFC 3339 timestamp, got ${JSON.stringify(json)}`);
        const ms = Date.parse(json as string);
        return { seconds: Math.floor(ms / 1000).toString(), nanos: (ms % 1000) * 1e6 };
      }
      case "google.protobuf.FieldMask":
        if (typeof json !== "string") return this.err(p, `expected FieldMask string, got ${describe(json)}`);
        return { paths: json === "" ? [] : json.split(",").map((s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) };
      case "google.protobuf.Struct":
        if (!isPlainObject(json)) return this.err(p, `expected object for Struct, got ${describe(json)}`);
        return { fields: Object.fromEntries(Object.entries(json).map(([k, v]) => [k, this.value(v, join(p, k))])) };
      case "google.protobuf.ListValue":
        if (!Array.isArray(json)) return this.err(p, `expected array for ListValue, got ${describe(json)}`);
        return { values: json.map((v, i) => this.value(v, `${p}[${i}]`)) };
      case "google.protobuf.Value":
        return this.value(json, p);
    }
    return this.err(p, `unhandled well-known type ${name}`);
  }

  value(json: unknown, p: string): unknown {
    // protobufjs brings its own google/protobuf/struct.proto with camelCase
    // field names (numberValue, …): fromObject silently drops snake_case keys
    // there, which emptied every Struct (an override-host TypedStruct reached
    // Envoy without its fields and CDS was NACKed).
    const f = valueFieldNames();
    if (json === null) return { [f.null_value]: 0 };
    if (typeof json === "number") return Number.isFinite(json) ? { [f.number_value]: json } : this.err(p, "non-finite number in Value");
    if (typeof json === "string") return { [f.string_value]: json };
    if (typeof json === "boolean") return { [f.bool_value]: json };
    if (Array.isArray(json)) return { [f.list_value]: { values: json.map((v, i) => this.value(v, `${p}[${i}]`)) } };
    if (isPlainObject(json)) return { [f.struct_value]: { fields: Object.fromEntries(Object.entries(json).map(([k, v]) => [k, this.value(v, join(p, k))])) } };
    return this.err(p, `not a JSON value: ${describe(json)}`);
  }
}

type ValueField = "null_value" | "number_value" | "string_value" | "bool_value" | "list_value" | "struct_value";
let valueFields: Record<ValueField, string> | undefined;
/** google.protobuf.Value's field names as the loaded root spells them. */
function valueFieldNames(): Record<ValueField, string> {
  if (valueFields) return valueFields;
  const t = lookupType("google.protobuf.Value");
  const pick = (snake: ValueField) => (t.fields[snake] ? snake : jsonNameOf(snake));
  return (valueFields = {
    null_value: pick("null_value"),
    number_value: pick("number_value"),
    string_value: pick("string_value"),
    bool_value: pick("bool_value"),
    list_value: pick("list_value"),
    struct_value: pick("struct_value"),
  });
}

function walkTop(type: protobuf.Type, json: unknown, issues: ProtoIssue[]): Record<string, unknown> | undefined {
  const w = new Walker(issues);
  if (isPlainObject(json) && "@type" in json && typeName(type) !== "google.protobuf.Any") {
    const declared = json["@type"];
    if (declared !== TYPE_PREFIX + typeName(type)) {
      w.err("@type", `"@type" is ${JSON.stringify(declared)}, expected "${TYPE_PREFIX + typeName(type)}"`);
      return undefined;
    }
    return w.fields(type, json, "", new Set(["@type"]));
  }
  return w.message(type, json, "") as Record<string, unknown> | undefined;
}

/** All strictness problems of `json` as message `typeNameOrUrl` (empty = valid). */
export function checkMessage(typeNameOrUrl: string, json: unknown): ProtoIssue[] {
  const issues: ProtoIssue[] = [];
  walkTop(lookupType(typeNameOrUrl), json, issues);
  return issues;
}

/** Strict decode of one resource; throws ProtoCheckError listing every problem. */
export function checkResource(typeUrl: string, json: unknown): void {
  const issues = checkMessage(typeUrl, json);
  if (issues.length) throw new ProtoCheckError(typeUrl, issues);
}

/** Strictly checks, then encodes proto3 JSON into protobuf bytes. */
export function encodeMessage(typeNameOrUrl: string, json: unknown): Uint8Array {
  const type = lookupType(typeNameOrUrl);
  const issues: ProtoIssue[] = [];
  const obj = walkTop(type, json, issues);
  if (issues.length || !obj) throw new ProtoCheckError(typeName(type), issues);
  return type.encode(type.fromObject(obj)).finish();
}

export interface EncodedAny {
  type_url: string;
  value: Uint8Array;
}

/** `google.protobuf.Any` (as protobufjs/grpc objects take it) for a resource in proto3 JSON. */
export function encodeAny(typeUrl: string, json: unknown): EncodedAny {
  return { type_url: typeUrl, value: encodeMessage(typeUrl, json) };
}

/** Decodes bytes into a plain object (proto field names, enums as names, longs as strings). */
export function decodeMessage(typeNameOrUrl: string, bytes: Uint8Array): Record<string, unknown> {
  const type = lookupType(typeNameOrUrl);
  return type.toObject(type.decode(bytes), { enums: String, longs: String, bytes: String, oneofs: false, defaults: false });
}
