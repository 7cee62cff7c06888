// Talking to Envoy: the few proxy-wasm host calls the filter makes, written
// directly against the ABI so that a host error never becomes a trap (the
// runtime's wrappers abort on any non-Ok result, and a trap kills the VM).
//
// Per request nothing here allocates except what the ABI forces (the header
// pairs block Envoy writes through our malloc): names are encoded once,
// values are encoded into one reused scratch buffer.

import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { free, malloc as sdkMalloc } from "@solo-io/proxy-runtime/assembly/malloc";
import { LogLevelValues, WasmResultValues } from "@solo-io/proxy-runtime/assembly";
import { Header, HeaderBlock, encodePairs } from "./headers";
import { replaceChar } from "./ascii";

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

// Values (and the foreign-call argument) are encoded into this buffer; the
// host copies what it is given before the call returns. Grown, never shrunk.
let scratch = new ArrayBuffer(256);
let scratchUsed: usize = 0;

// Encodes s at the scratch buffer's fill mark; returns its offset. Call
// scratchReset() before a new set of values.
function scratchPut(s: string): usize {
  const need = <usize>String.UTF8.byteLength(s);
  ensureScratch(scratchUsed + need);
  const at = scratchUsed;
  scratchUsed += String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, changetype<usize>(scratch) + at);
  return at;
}

function ensureScratch(size: usize): void {
  const cap = <usize>scratch.byteLength;
  if (size <= cap) return;
  let n = cap * 2;
  while (n < size) n *= 2;
  const grown = new ArrayBuffer(<i32>n);
  memory.copy(changetype<usize>(grown), changetype<usize>(scratch), scratchUsed);
  scratch = grown;
}

@inline function scratchAt(offset: usize): usize { return changetype<usize>(scratch) + offset; }

// Header names, property paths and foreign function names are a small fixed
// set: encode each once instead of allocating a buffer per call per request.
// The per-request names are string literals: found first by identity in a
// few slots (the slots hold the strings, so an address cannot be reused by
// another string), without hashing; other names through the map.
const SLOTS = 16;
const slotNames = new StaticArray<string>(SLOTS);
const slotBytes = new StaticArray<ArrayBuffer>(SLOTS);
let slotsUsed = 0;
const encoded = new Map<string, ArrayBuffer>();
function utf8Name(s: string): ArrayBuffer {
  const id = changetype<usize>(s);
  for (let i = 0; i < slotsUsed; i++) if (changetype<usize>(unchecked(slotNames[i])) == id) return unchecked(slotBytes[i]);
  if (encoded.has(s)) return encoded.get(s);
  const b = utf8(s);
  if (slotsUsed < SLOTS) {
    unchecked(slotNames[slotsUsed] = s);
    unchecked(slotBytes[slotsUsed] = b);
    slotsUsed++;
  } else if (encoded.size < 256) encoded.set(s, b);
  return b;
}

// Property paths are segments joined by NUL (Envoy context.cc getProperty).
const propertyPaths = new Map<string, ArrayBuffer>();
function propertyPath(path: string): ArrayBuffer {
  if (propertyPaths.has(path)) return propertyPaths.get(path);
  const b = utf8(replaceChar(path, 0x2e, 0));
  if (propertyPaths.size < 64) propertyPaths.set(path, b);
  return b;
}

// The host returns every value through the module's `malloc` export. For
// the request's header pairs that would be a new buffer per request: here
// malloc hands out the caller's own buffer instead when it is big enough
// (armed for exactly one host call), and a new one otherwise.
let arenaPtr: usize = 0;
let arenaCap: usize = 0;

export function malloc(size: i32): usize {
  const p = arenaPtr;
  if (p != 0 && <usize>size <= arenaCap) {
    arenaPtr = 0;
    return p;
  }
  return sdkMalloc(size);
}

// The request header map in one host call, indexed lazily (HeaderBlock)
// into `into`, whose buffer is reused when the pairs fit in it.
export function readRequestHeaders(into: HeaderBlock): void {
  const own = into.buffer;
  store<usize>(outPtr, 0); store<usize>(outLen, 0);
  arenaPtr = changetype<usize>(own);
  arenaCap = <usize>own.byteLength;
  const r = imports.proxy_get_header_map_pairs(REQUEST_HEADERS, outPtr, outLen);
  arenaPtr = 0;
  const ptr = load<usize>(outPtr);
  const len = <i32>load<usize>(outLen);
  if (r != WasmResultValues.Ok || ptr == 0) { into.load(own, 0); return; }
  if (ptr == changetype<usize>(own)) { into.load(own, len); return; }
  // Bigger than the buffer held: this one becomes the block's buffer (and
  // the next request's arena; HeaderBlock.release drops it if it is large).
  into.load(takeBuffer()!, len);
}

// The request header map in one host call, indexed lazily (HeaderBlock).
export function requestHeaders(): HeaderBlock {
  store<usize>(outPtr, 0); store<usize>(outLen, 0);
  const r = imports.proxy_get_header_map_pairs(REQUEST_HEADERS, outPtr, outLen);
  const buf = r == WasmResultValues.Ok ? takeBuffer() : null;
  return new HeaderBlock(buf !== null ? buf : new ArrayBuffer(0));
}

export function replaceRequestHeader(name: string, value: string): u32 {
  valueStart();
  valueAppend(value);
  return replaceRequestHeaderBuilt(name);
}

// A value that is one of the filter's own constants (a literal): encoded
// once, like the names.
export function replaceRequestHeaderConst(name: string, value: string): u32 {
  const k = utf8Name(name), v = utf8Name(value);
  return imports.proxy_replace_header_map_value(REQUEST_HEADERS, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

// A value assembled from parts straight into the scratch buffer (no string
// is built for it): valueStart(), valueAppend*(), replaceRequestHeaderBuilt().
export function valueStart(): void { scratchUsed = 0; }
export function valueAppend(s: string): void { scratchPut(s); }
export function valueAppendByte(b: u8): void {
  ensureScratch(scratchUsed + 1);
  store<u8>(scratchAt(scratchUsed++), b);
}
export function valueAppendInt(n: u32): void {
  let digits: usize = 1;
  for (let x = n; x >= 10; x /= 10) digits++;
  ensureScratch(scratchUsed + digits);
  scratchUsed += digits;
  let p = scratchAt(scratchUsed);
  do { store<u8>(--p, <u8>(0x30 + n % 10)); n /= 10; } while (n != 0);
}
export function replaceRequestHeaderBuilt(name: string): u32 {
  const k = utf8Name(name);
  return imports.proxy_replace_header_map_value(REQUEST_HEADERS, changetype<usize>(k), k.byteLength, scratchAt(0), scratchUsed);
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

function foreign(name: string, args: usize, argsLen: usize): u32 {
  const n = utf8Name(name);
  store<usize>(outPtr, 0); store<usize>(outLen, 0);
  const r = imports.proxy_call_foreign_function(changetype<usize>(n), n.byteLength, args, argsLen, outPtr, outLen);
  if (r == WasmResultValues.Ok && load<usize>(outPtr) != 0) takeBuffer();
  return r;
}

export const ORIGINAL_DST_KEY = "envoy.network.transport_socket.original_dst_address";

// Filter-state life span in Envoy's SetEnvoyFilterStateArguments.
const SPAN_DOWNSTREAM_REQUEST: u8 = 1;

function varintSize(v: usize): usize {
  let n: usize = 1;
  while (v >= 0x80) { v >>= 7; n++; }
  return n;
}

function putVarint(p: usize, v: usize): usize {
  while (v >= 0x80) { store<u8>(p++, <u8>((v & 0x7f) | 0x80)); v >>= 7; }
  store<u8>(p++, <u8>v);
  return p;
}

// set_envoy_filter_state (Envoy source/extensions/common/wasm/foreign.cc):
// the argument is envoy.source.extensions.common.wasm.SetEnvoyFilterStateArguments
// {string path = 1; string value = 2; LifeSpan span = 3}, protobuf-encoded,
// built in the scratch buffer: the value is encoded first at a fixed gap
// big enough for the header fields, then the header is written before it.
export function setFilterState(key: string, value: string): u32 {
  const k = utf8Name(key);
  const klen = <usize>k.byteLength;
  const vlen = <usize>String.UTF8.byteLength(value);
  const size: usize = 1 + varintSize(klen) + klen + 1 + varintSize(vlen) + vlen + 2;
  scratchUsed = 0;
  ensureScratch(size);
  let p = changetype<usize>(scratch);
  store<u8>(p++, 0x0a);
  p = putVarint(p, klen);
  memory.copy(p, changetype<usize>(k), klen);
  p += klen;
  store<u8>(p++, 0x12);
  p = putVarint(p, vlen);
  p += String.UTF8.encodeUnsafe(changetype<usize>(value), value.length, p);
  store<u8>(p, 0x18);
  store<u8>(p + 1, SPAN_DOWNSTREAM_REQUEST);
  return foreign("set_envoy_filter_state", changetype<usize>(scratch), size);
}

// proxy_set_property: Envoy stores the value as a CelState under
// "wasm.<path>" in the request's filter state, which the access log prints
// with %FILTER_STATE(wasm.<path>:PLAIN)%.
export function setProperty(path: string, value: string): u32 {
  const k = utf8Name(path);
  scratchUsed = 0;
  const v = scratchPut(value);
  return imports.proxy_set_property(changetype<usize>(k), k.byteLength, scratchAt(v), scratchUsed - v);
}

// No clear_route_cache call: the module declares ABI 0.2.1, for which Envoy
// clears the route cache on every request-header edit (context.cc
// onHeadersModified; only modules above 0.2.1 must ask), and the filter
// always edits x-apisix-upstream after the endpoint is set.

// A local reply; Envoy sends it after the current callback returns and the
// router never runs for this request. grpc_status -1: none.
export function sendLocalResponse(status: u32, details: string, body: string, headers: Array<Header>): u32 {
  const d = utf8(details), b = utf8(body), h = encodePairs(headers);
  return imports.proxy_send_local_response(status, changetype<usize>(d), d.byteLength, changetype<usize>(b), b.byteLength,
    changetype<usize>(h), h.byteLength, <u32>-1);
}

const clockOut = memory.data(8);
export function nowNanos(): u64 {
  if (imports.proxy_get_current_time_nanoseconds(clockOut) != WasmResultValues.Ok) return 0;
  return load<u64>(clockOut);
}

// @ts-ignore: decorator
@external("env", "proxy_get_log_level")
declare function proxy_get_log_level(level: usize): u32;

// Envoy's log level for wasm (ABI 0.2.1), read on configure and on every
// tick rather than per request: a change through Envoy's admin /logging
// takes effect within a tick period. If the host cannot say, assume trace.
let cachedLevel: i32 = LogLevelValues.trace;
const levelOut = memory.data(4);

export function refreshLogLevel(): void {
  cachedLevel = proxy_get_log_level(levelOut) == WasmResultValues.Ok ? load<i32>(levelOut) : LogLevelValues.trace;
}

export function logLevel(): i32 { return cachedLevel; }

// proxy_log with the message encoded in the scratch buffer; lines below the
// cached level are not sent (Envoy would drop them).
export function log(level: i32, msg: string): void {
  if (level < cachedLevel) return;
  scratchUsed = 0;
  const at = scratchPut(msg);
  imports.proxy_log(level, scratchAt(at), scratchUsed - at);
}

export function logError(msg: string): void { log(LogLevelValues.error, msg); }
export function logWarn(msg: string): void { log(LogLevelValues.warn, msg); }
export function logInfo(msg: string): void { log(LogLevelValues.info, msg); }
export function logDebug(msg: string): void { log(LogLevelValues.debug, msg); }
