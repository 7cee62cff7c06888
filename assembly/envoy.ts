// Talking to Envoy: the few proxy-wasm host calls the filter makes, written
// directly against the ABI so that a host error never becomes a trap (the
// runtime's wrappers abort on any non-Ok result, and a trap kills the VM).

import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { free } from "@solo-io/proxy-runtime/assembly/malloc";
import { log, LogLevelValues, WasmResultValues } from "@solo-io/proxy-runtime/assembly";
import { Header, HeaderBlock, encodePairs } from "./request";

const REQUEST_HEADERS = 0;

// Out-pointers the host writes (ptr, len). Static memory: one request at a
// time runs in a VM.
const outPtr = memory.data(8);
const outLen = memory.data(8);

function takeBuffer(): ArrayBuffer | null {
  const ptr = load<usize>(outPtr);
  const len = load<usize>(outLen);
  if (ptr == 0) return len == 0 ? new ArrayBuffer(0) : null;
  const buf = changetype<ArrayBuffer>(ptr);
  // The host filled a block from our malloc (pinned); hand it to the GC.
  free(ptr);
  return buf;
}

function utf8(s: string): ArrayBuffer { return String.UTF8.encode(s); }

// Header names, property paths and foreign function names are a small fixed
// set: encode each once instead of allocating a buffer per call per request.
const encoded = new Map<string, ArrayBuffer>();
function utf8Name(s: string): ArrayBuffer {
  if (encoded.has(s)) return encoded.get(s);
  const b = utf8(s);
  if (encoded.size < 256) encoded.set(s, b);
  return b;
}

// Property paths are segments joined by NUL (Envoy context.cc getProperty).
const propertyPaths = new Map<string, ArrayBuffer>();
function propertyPath(path: string): ArrayBuffer {
  if (propertyPaths.has(path)) return propertyPaths.get(path);
  const b = utf8(path.replaceAll(".", "\0"));
  if (propertyPaths.size < 64) propertyPaths.set(path, b);
  return b;
}

// The request header map in one host call, indexed lazily (HeaderBlock).
export function requestHeaders(): HeaderBlock {
  store<usize>(outPtr, 0); store<usize>(outLen, 0);
  const r = imports.proxy_get_header_map_pairs(REQUEST_HEADERS, outPtr, outLen);
  const buf = r == WasmResultValues.Ok ? takeBuffer() : null;
  return new HeaderBlock(buf !== null ? buf : new ArrayBuffer(0));
}

export function replaceRequestHeader(name: string, value: string): u32 {
  const k = utf8Name(name), v = utf8(value);
  return imports.proxy_replace_header_map_value(REQUEST_HEADERS, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

export function removeRequestHeader(name: string): u32 {
  const k = utf8Name(name);
  return imports.proxy_remove_header_map_value(REQUEST_HEADERS, changetype<usize>(k), k.byteLength);
}

// A property's raw value (Envoy serializeValue); null when Envoy does not have it.
function propertyBytes(path: string): ArrayBuffer | null {
  const p = propertyPath(path);
  store<usize>(outPtr, 0); store<usize>(outLen, 0);
  const r = imports.proxy_get_property(changetype<usize>(p), p.byteLength, outPtr, outLen);
  return r == WasmResultValues.Ok ? takeBuffer() : null;
}

// String-typed properties are raw bytes.
export function property(path: string): string | null {
  const buf = propertyBytes(path);
  return buf === null ? null : String.UTF8.decode(buf);
}

// Boolean properties are one byte; absent = false.
export function propertyBool(path: string): bool {
  const buf = propertyBytes(path);
  return buf !== null && buf.byteLength >= 1 && load<u8>(changetype<usize>(buf)) != 0;
}

// Integer properties are 8-byte little-endian.
export function propertyInt(path: string, def: i64): i64 {
  const buf = propertyBytes(path);
  if (buf === null || buf.byteLength < 8) return def;
  return load<i64>(changetype<usize>(buf));
}

function foreign(name: string, args: ArrayBuffer): u32 {
  const n = utf8Name(name);
  store<usize>(outPtr, 0); store<usize>(outLen, 0);
  const r = imports.proxy_call_foreign_function(changetype<usize>(n), n.byteLength, changetype<usize>(args), args.byteLength, outPtr, outLen);
  if (r == WasmResultValues.Ok) takeBuffer();
  return r;
}

export const ORIGINAL_DST_KEY = "envoy.network.transport_socket.original_dst_address";

// Filter-state life span in Envoy's SetEnvoyFilterStateArguments.
const SPAN_DOWNSTREAM_REQUEST: u8 = 1;

function varintSize(v: u32): i32 {
  let n = 1;
  while (v >= 0x80) { v >>= 7; n++; }
  return n;
}

function putVarint(p: usize, v: u32): usize {
  while (v >= 0x80) { store<u8>(p++, <u8>((v & 0x7f) | 0x80)); v >>= 7; }
  store<u8>(p++, <u8>v);
  return p;
}

function putBytes(p: usize, tag: u8, b: ArrayBuffer): usize {
  store<u8>(p++, tag);
  p = putVarint(p, b.byteLength);
  memory.copy(p, changetype<usize>(b), b.byteLength);
  return p + b.byteLength;
}

// set_envoy_filter_state (Envoy source/extensions/common/wasm/foreign.cc):
// the argument is envoy.source.extensions.common.wasm.SetEnvoyFilterStateArguments
// {string path = 1; string value = 2; LifeSpan span = 3}, protobuf-encoded.
export function setFilterState(key: string, value: string): u32 {
  const k = utf8Name(key), v = utf8(value);
  const size = 1 + varintSize(k.byteLength) + k.byteLength + 1 + varintSize(v.byteLength) + v.byteLength + 2;
  const buf = new ArrayBuffer(size);
  let p = putBytes(changetype<usize>(buf), 0x0a, k);
  p = putBytes(p, 0x12, v);
  store<u8>(p, 0x18);
  store<u8>(p + 1, SPAN_DOWNSTREAM_REQUEST);
  return foreign("set_envoy_filter_state", buf);
}

// proxy_set_property: Envoy stores the value as a CelState under
// "wasm.<path>" in the request's filter state, which the access log prints
// with %FILTER_STATE(wasm.<path>:PLAIN)%.
export function setProperty(path: string, value: string): u32 {
  const k = utf8Name(path), v = utf8(value);
  return imports.proxy_set_property(changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

const EMPTY = new ArrayBuffer(0);

// Envoy ≥ 1.33: re-run route matching after our header edits. For ABI 0.2.x
// modules Envoy already clears the route cache on every header edit; older
// Envoys answer NotFound, which is fine.
export function clearRouteCache(): u32 {
  return foreign("clear_route_cache", EMPTY);
}

// A local reply; Envoy sends it after the current callback returns and the
// router never runs for this request. grpc_status -1: none.
export function sendLocalResponse(status: u32, details: string, body: string, headers: Array<Header>): u32 {
  const d = utf8(details), b = utf8(body), h = encodePairs(headers);
  return imports.proxy_send_local_response(status, changetype<usize>(d), d.byteLength, changetype<usize>(b), b.byteLength,
    changetype<usize>(h), h.byteLength, <u32>-1);
}

export function nowNanos(): u64 {
  const p = memory.data(8);
  if (imports.proxy_get_current_time_nanoseconds(p) != WasmResultValues.Ok) return 0;
  return load<u64>(p);
}

// @ts-ignore: decorator
@external("env", "proxy_get_log_level")
declare function proxy_get_log_level(level: usize): u32;

// Envoy's current log level for wasm (ABI 0.2.1). Callers skip building a
// per-request line Envoy would drop; if the host cannot say, assume trace.
export function logLevel(): i32 {
  const p = memory.data(4);
  if (proxy_get_log_level(p) != WasmResultValues.Ok) return LogLevelValues.trace;
  return load<i32>(p);
}

export function logError(msg: string): void { log(LogLevelValues.error, msg); }
export function logWarn(msg: string): void { log(LogLevelValues.warn, msg); }
export function logInfo(msg: string): void { log(LogLevelValues.info, msg); }
export function logDebug(msg: string): void { log(LogLevelValues.debug, msg); }
