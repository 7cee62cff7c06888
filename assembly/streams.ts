// The HTTP stream callbacks, dispatched without the SDK's context map.
//
// @solo-io/proxy-runtime keeps every context in one Map<u32, BaseContext>:
// per stream an insert, a lookup in each of the five callbacks and a delete,
// each a hash and a virtual call, and a new filter object per stream whose
// onDone/onDelete build a debug line. Here root contexts stay with the SDK
// (configure, tick, vm start), and streams live in an open-addressing table
// keyed by context id whose filter objects are recycled through a free list,
// so a stream allocates nothing to be dispatched.

import { ensureRootContext, getRootContext } from "@solo-io/proxy-runtime/assembly/runtime";
import {
  proxy_on_context_create as sdkContextCreate,
  proxy_on_delete as sdkDelete,
} from "@solo-io/proxy-runtime/assembly/exports";
import { ConfigHolder, UpstreamFilter } from "./filter";
import { Config } from "./config/config";
import { Metrics } from "./metrics";
import { streamDone } from "./gc";

// Context ids are u32 and never 0 (Envoy and the host number them from 1),
// so 0 marks an empty slot.
let keys = new StaticArray<u32>(64);
let vals = new StaticArray<UpstreamFilter | null>(64);
let mask: u32 = 63;
let live: i32 = 0;
const pool = new Array<UpstreamFilter>();

// Envoy gives every configuration its own root context, but streams keep
// coming for the newest one: remember the last lookup.
let lastRootId: u32 = 0;
let lastRoot: ConfigHolder | null = null;

// Fibonacci hashing: consecutive ids (Envoy counts them up) spread out.
@inline function slotOf(id: u32): u32 { return (id * 0x9e3779b1) >> 16; }

function find(id: u32): i32 {
  let i = slotOf(id) & mask;
  while (true) {
    const k = unchecked(keys[i]);
    if (k == id) return <i32>i;
    if (k == 0) return -1;
    i = (i + 1) & mask;
  }
  return -1;
}

function insert(id: u32, f: UpstreamFilter): void {
  if ((live + 1) * 4 > (<i32>mask + 1) * 3) grow();
  let i = slotOf(id) & mask;
  while (unchecked(keys[i]) != 0 && unchecked(keys[i]) != id) i = (i + 1) & mask;
  if (unchecked(keys[i]) == 0) live++;
  unchecked(keys[i] = id);
  unchecked(vals[i] = f);
}

function grow(): void {
  const oldKeys = keys, oldVals = vals;
  const size = (mask + 1) << 1;
  keys = new StaticArray<u32>(<i32>size);
  vals = new StaticArray<UpstreamFilter | null>(<i32>size);
  mask = size - 1;
  live = 0;
  for (let j = 0; j < oldKeys.length; j++) {
    const k = unchecked(oldKeys[j]);
    if (k != 0) insert(k, unchecked(oldVals[j])!);
  }
}

// Linear-probing delete by shifting back the entries of the run after the
// hole, so lookups never need tombstones.
function remove(at: i32): void {
  let hole = <u32>at;
  let i = (hole + 1) & mask;
  while (unchecked(keys[i]) != 0) {
    const home = slotOf(unchecked(keys[i])) & mask;
    // Move entry i into the hole when its home is not in (hole, i].
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      unchecked(keys[hole] = keys[i]);
      unchecked(vals[hole] = vals[i]);
      hole = i;
    }
    i = (i + 1) & mask;
  }
  unchecked(keys[hole] = 0);
  unchecked(vals[hole] = null);
  live--;
}

// What a recycled filter points at while it waits in the free list, so that
// it keeps no configuration (an old root's) alive.
class IdleRoot extends ConfigHolder {
  current(): Config | null { return null; }
}
const IDLE = new IdleRoot(0);

function streamOf(id: u32): UpstreamFilter | null {
  const i = find(id);
  return i >= 0 ? unchecked(vals[i]) : null;
}

// The filter objects need the VM's metrics; index.ts provides them.
let metricsOf: () => Metrics = (): Metrics => new Metrics();
export function setMetricsSource(f: () => Metrics): void { metricsOf = f; }

function rootFor(id: u32): ConfigHolder {
  if (id != lastRootId || lastRoot === null) {
    lastRoot = changetype<ConfigHolder>(ensureRootContext(id));
    lastRootId = id;
  }
  return lastRoot!;
}

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  if (root_context_id == 0) { sdkContextCreate(context_id, 0); return; }
  const root = rootFor(root_context_id);
  let f: UpstreamFilter;
  if (pool.length) {
    f = pool.pop();
    f.recycle(context_id, root);
  } else {
    f = new UpstreamFilter(context_id, root, metricsOf());
  }
  insert(context_id, f);
}

export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): i32 {
  const f = streamOf(context_id);
  return f !== null ? <i32>f.onRequestHeaders(headers, end_of_stream != 0) : 0;
}

export function proxy_on_log(context_id: u32): void {
  const f = streamOf(context_id);
  if (f !== null) f.onLog();
}

export function proxy_on_delete(context_id: u32): void {
  const i = find(context_id);
  if (i < 0) {
    if (context_id == lastRootId) { lastRootId = 0; lastRoot = null; }
    sdkDelete(context_id);
    return;
  }
  const f = unchecked(vals[i])!;
  remove(i);
  // Back to the free list before the collector may run (streamDone): the
  // object is reachable from there, and what it held for the stream is not.
  f.recycle(0, IDLE);
  pool.push(f);
  streamDone();
}
