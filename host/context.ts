// The host's public types and the state it shares with its parts: options,
// clocks, errors, logs, metrics records, shared data, root contexts. Nothing
// here imports host.ts or stream.ts, so both can depend on it without a cycle.
import { WasmResult, type LogLevelValue } from "./abi.ts";
import type { FilterStateFactory } from "./foreign.ts";

export interface HostClock {
  /** Wall-clock time in ns since the epoch (proxy_get_current_time_nanoseconds, WASI realtime). */
  nowNs(): bigint;
  /** Monotonic ns (WASI clock 1). */
  monotonicNs(): bigint;
}

/** A clock that only moves when told to: deterministic tests. */
export class ManualClock implements HostClock {
  private ns: bigint;
  private mono = 0n;
  constructor(startMs: number = Date.now()) {
    this.ns = BigInt(Math.round(startMs)) * 1_000_000n;
  }
  nowNs(): bigint {
    return this.ns;
  }
  monotonicNs(): bigint {
    return this.mono;
  }
  advance(ms: number): void {
    const d = BigInt(Math.round(ms * 1e6));
    this.ns += d;
    this.mono += d;
  }
  nowMs(): number {
    return Number(this.ns / 1_000_000n);
  }
}

export class SystemClock implements HostClock {
  nowNs(): bigint {
    return BigInt(Date.now()) * 1_000_000n;
  }
  monotonicNs(): bigint {
    return process.hrtime.bigint();
  }
}

export type FailurePolicy = "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";

export interface HostOptions {
  /** PluginConfig.root_id: which root context factory the module uses. */
  rootId: string;
  /** VmConfig.vm_id (property plugin_vm_id; also the shared-data namespace). */
  vmId?: string;
  /** PluginConfig.name (property plugin_name). Defaults to the root id. */
  pluginName?: string;
  /** VmConfig.configuration, handed to proxy_on_vm_start. */
  vmConfiguration?: string | Uint8Array;
  /** VmConfig.environment_variables, visible through WASI environ_get. */
  environment?: Record<string, string>;
  clock?: HostClock;
  /** Envoy version to emulate, "major.minor" (default "1.35"). clear_route_cache exists from 1.33. */
  envoyVersion?: string;
  /** PluginConfig.failure_policy (default FAIL_CLOSED; FAIL_RELOAD is Envoy 1.33+). */
  failurePolicy?: FailurePolicy;
  /** Envoy's log level: guest logs below it are dropped; proxy_get_log_level reports it. Default 0 (trace). */
  logLevel?: LogLevelValue;
  /** Echo guest logs to stderr (true = all recorded levels, or a minimum level). For the CLI. */
  echoLogs?: boolean | LogLevelValue;
  /** Keep at most this many entries in host.logs (oldest dropped). Default 100000. */
  maxLogs?: number;
  /**
   * cpp-host's proxy_log returns BadArgument for a level above critical (src/exports.cc
   * `log`, LogLevel::Max = critical), so Envoy's own PANIC for such levels is not reached
   * through the ABI. Set true to treat a level >= 6 as fatal anyway (throws EnvoyPanic).
   */
  panicOnInvalidLogLevel?: boolean;
  /** PluginConfig.allow_on_headers_stop_iteration (1.35+): keep StopIteration as is. */
  allowOnHeadersStopIteration?: boolean;
  /** Shared data is process-wide in Envoy (keyed by vm_id); pass one store to several hosts to model workers. */
  sharedData?: SharedDataStore;
  /** Filter-state keys that set_envoy_filter_state may create (default: original_dst address). */
  filterStateFactories?: Map<string, FilterStateFactory>;
  /** Name used in error messages (default: the file name, or "<bytes>"). */
  moduleName?: string;
  /**
   * The endpoints ("ip:port") of a cluster Envoy knows, by name: where the
   * router goes when the filter names a cluster but pins no endpoint (no try
   * plan, no original_dst state). Envoy's load balancer then has the
   * cluster's endpoints to choose from; with one, that one is `endpoint`.
   */
  clusterEndpoints?: (cluster: string) => readonly string[] | undefined;
}

export interface LogEntry {
  level: number;
  message: string;
  contextId: number;
}

export interface VmFailure {
  /** The callback that trapped (e.g. "proxy_on_request_headers", "_initialize"). */
  callback: string;
  contextId: number;
  /** The trap message (e.g. "unreachable", "restricted_callback: env.proxy_get_property"). */
  message: string;
  /** The guest's last critical log before the trap: AssemblyScript's abort text. */
  lastCriticalLog?: string;
  /** proc_exit code if the guest called it before trapping. */
  exitCode?: number;
  stack?: string;
}

/** Envoy would crash (PANIC). Thrown out of the host call that caused it. */
export class EnvoyPanic extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvoyPanic";
  }
}

/** The module was refused at load (Envoy: the listener/extension config is rejected). */
export class WasmLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WasmLoadError";
  }
}

/** A trap raised by the host itself (e.g. a restricted callback), like cpp-host's VM trap. */
export class WasmTrap extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WasmTrap";
  }
}

export interface ValidationResult {
  accepted: boolean;
  logs: LogEntry[];
  failure?: VmFailure;
  error?: string;
}

export interface MetricRecord {
  name: string;
  type: "counter" | "gauge" | "histogram";
  value: bigint;
  samples: bigint[];
}

/** Shared key-value store with CAS, as cpp-host src/shared_data.cc. */
export class SharedDataStore {
  private readonly data = new Map<string, Map<string, { value: Uint8Array; cas: number }>>();
  private cas = 1;
  private nextCas(): number {
    const c = this.cas;
    this.cas = (this.cas + 1) >>> 0;
    if (this.cas === 0) this.cas = 1;
    return c;
  }
  get(vmId: string, key: string): { value: Uint8Array; cas: number } | undefined {
    return this.data.get(vmId)?.get(key);
  }
  /** cas 0 = unconditional; otherwise it must match the stored cas (CasMismatch). A missing key is always set. */
  set(vmId: string, key: string, value: Uint8Array, cas: number): number {
    let m = this.data.get(vmId);
    if (!m) this.data.set(vmId, (m = new Map()));
    const cur = m.get(key);
    if (cur && cas !== 0 && cas !== cur.cas) return WasmResult.CasMismatch;
    m.set(key, { value: value.slice(), cas: this.nextCas() });
    return WasmResult.Ok;
  }
  keys(vmId: string): string[] {
    return [...(this.data.get(vmId)?.keys() ?? [])];
  }
}

// ---------------------------------------------------------------- contexts

/** The VM context (id 0): what host calls see during _initialize and malloc. */
export interface VmContext {
  readonly kind: "vm";
  readonly id: 0;
}

export class RootContext {
  readonly kind = "root" as const;
  /** on_context_create ran in the VM (cpp-host in_vm_context_created_). */
  created = false;
  /** Set while on_configure runs: the PluginConfiguration buffer (cpp-host temp_plugin_). */
  configuring = false;
  tickPeriodMs = 0;
  nextTickAtNs = 0n;
  pendingDone = false;
  deleted = false;
  constructor(
    readonly id: number,
    readonly configuration: Uint8Array,
  ) {}
}

/**
 * @internal What a stream's host calls may do to the guest callback in progress
 * (cpp-host DeferAfterCallActions); the whole frame is imports/internals.ts CallFrame.
 */
export interface DeferredActions {
  /** Actions deferred until the callback returns (local reply, continue). */
  after: Array<() => void>;
  /** send_local_response sets this: the callback's return value counts as "stop". */
  stopNext: boolean;
}

export interface CallOutcome {
  /** Raw return value; undefined for void callbacks, missing exports or a trap. */
  value: number | undefined;
  /** send_local_response was called during the callback. */
  stopped: boolean;
  /** The callback trapped (the VM is now failed). */
  trapped: boolean;
  /** The export does not exist (Envoy then uses the default, e.g. Continue). */
  missing: boolean;
}
