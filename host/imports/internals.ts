// What the host functions (imports/*.ts) may see of a ProxyWasmHost: the calling
// context, guest memory and the host's state. host.ts builds one of these over
// its private fields, so the functions need no access to the class itself.
import type { HostClock, HostOptions, RootContext, SharedDataStore, VmContext, CallOutcome, DeferredActions } from "../context.ts";
import type { FilterStateFactory } from "../foreign.ts";
import type { GuestMemory } from "../memory.ts";
import type { PropertyValue } from "../properties.ts";
import type { HttpStream } from "../stream.ts";
import type { MetricStore } from "./metrics.ts";
import type { SharedQueues } from "./shared.ts";

export type AnyContext = VmContext | RootContext | HttpStream;

/** One guest callback in progress (cpp-host current_context_ + DeferAfterCallActions). */
export interface CallFrame extends DeferredActions {
  ctx: AnyContext;
  /** proxy_set_effective_context's target for the rest of the callback. */
  effective: AnyContext | null;
}

/** A wasm import: V8 passes i32/i64/f64 as number or bigint by the import's signature. */
// biome-ignore lint/suspicious/noExplicitAny: each function declares its own parameter types; this is their common supertype
export type HostFunction = (...a: any[]) => unknown;
export type HostFunctions = Record<string, HostFunction>;

export interface HostInternals {
  readonly options: Readonly<HostOptions>;
  readonly clock: HostClock;
  readonly memory: GuestMemory;
  /** The callback in progress; null between callbacks. */
  readonly frame: CallFrame | null;
  readonly vmId: string;
  readonly vmConfiguration: Uint8Array;
  readonly environment: ReadonlyArray<[string, string]>;
  /** "1.33" as 1033. */
  readonly envoyVersion: number;
  readonly sharedData: SharedDataStore;
  readonly queues: SharedQueues;
  readonly metrics: MetricStore;
  readonly filterStateFactories: Map<string, FilterStateFactory>;
  /** Messages Envoy logs at trace through Context::error. */
  readonly vmErrors: string[];
  /** Kept for VmFailure: AssemblyScript's abort text arrives as a critical log before the trap. */
  lastCriticalLog: string | undefined;
  lastExitCode: number | undefined;

  /** The context host calls act on (cpp-host contextOrEffectiveContext). */
  ctx(): AnyContext;
  rootOf(c: AnyContext): RootContext | undefined;
  rootById(id: number): RootContext | undefined;
  /** A live root context or stream by id. */
  contextById(id: number): AnyContext | undefined;
  /** cpp-host WasmBase::copyToPointerSize. */
  copyOut(bytes: Uint8Array, ptrPtr: number, sizePtr: number): number;
  /** UTF-8 text from guest memory; null when out of bounds. */
  readStr(ptr: number, len: number): string | null;
  /** A guest log line (filtered by the log level, echoed if asked). */
  record(level: number, message: string, contextId: number): void;
  /** A host-side note at context 0. */
  hostLog(level: number, message: string): void;
  callRoot(root: RootContext, name: string, args: number[]): CallOutcome;
  deleteRoot(root: RootContext): void;
  /** The attribute tree outside a stream (plugin_* only). */
  propertyForRoot(segments: string[]): PropertyValue | undefined;
}
