// ProxyWasmHost: loads a proxy-wasm module into Node's V8 and drives it the way
// Envoy (with its embedded proxy-wasm-cpp-host) does. The per-request half lives
// in stream.ts; this file owns the VM, the root contexts and the host functions.
//
// Citations: "cpp-host X" = proxy-wasm/proxy-wasm-cpp-host file X;
// "Envoy X" = envoyproxy/envoy source/extensions/common/wasm/X unless a path is given.
import { readFile } from "node:fs/promises";
import { randomFillSync } from "node:crypto";
import {
  ABI_SPECIFIC_HOST_FUNCTIONS,
  ABI_VERSION_EXPORTS,
  BufferType,
  Errno,
  EXTRA_ENV_FUNCTIONS,
  LogLevelName,
  MALLOC_ALLOWED,
  MapType,
  MetricType,
  PROXY_HOST_FUNCTIONS,
  RANDOM_GET_MAX_BYTES,
  START_ALLOWED,
  StreamType,
  WASI_FUNCTIONS,
  WASI_MODULES,
  WasmResult,
  type AbiVersion,
  type LogLevelValue,
} from "./abi.ts";
import { decodeSetEnvoyFilterStateArgs, defaultFilterStateFactories, type FilterStateFactory } from "./foreign.ts";
import { GuestMemory } from "./memory.ts";
import { decodePairs, decodePairsWith, fromUtf8, utf8 } from "./pairs.ts";
import { valueFromBytes, type HeaderValue } from "./headers.ts";
import { descend, serialize, str, type PropertyValue } from "./properties.ts";
import { HttpStream, type RequestDescription, type RequestOptions, type RequestResult } from "./stream.ts";

// ---------------------------------------------------------------- public types

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

export type AnyContext = VmContext | RootContext | HttpStream;

/** @internal One guest callback in progress (cpp-host current_context_ + DeferAfterCallActions). */
export interface CallFrame {
  ctx: AnyContext;
  effective: AnyContext | null;
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

type Exports = Record<string, unknown> & { memory?: WebAssembly.Memory };
type GuestFn = (...args: Array<number | bigint>) => number | bigint | undefined;

const VM_CONTEXT: VmContext = { kind: "vm", id: 0 };

/** Parse "1.33" / "v1.33.2" into a comparable number (1.33 → 1033). */
function versionKey(v: string): number {
  const m = /^v?(\d+)\.(\d+)/.exec(v);
  if (!m) throw new Error(`envoyVersion must look like "1.33", got ${JSON.stringify(v)}`);
  return Number(m[1]) * 1000 + Number(m[2]);
}

const asBytes = (v: string | Uint8Array | undefined): Uint8Array =>
  v === undefined ? new Uint8Array(0) : typeof v === "string" ? utf8(v) : v;

// ---------------------------------------------------------------- the host

export class ProxyWasmHost {
  readonly options: Readonly<HostOptions>;
  readonly rootId: string;
  readonly vmId: string;
  readonly pluginName: string;
  readonly abiVersion: AbiVersion;
  readonly clock: HostClock;
  readonly sharedData: SharedDataStore;
  readonly filterStateFactories: Map<string, FilterStateFactory>;
  readonly envoyVersion: number;

  /** Every guest log (and the VM context's), oldest first. */
  logs: LogEntry[] = [];
  /** Root-context / VM-level callbacks in order, e.g. "proxy_on_configure(2)". */
  readonly calls: string[] = [];
  /** Messages Envoy logs at trace through Context::error (e.g. "wasi_unstable proc_exit"). */
  readonly vmErrors: string[] = [];
  /** Set when the guest trapped: the VM is failed (cpp-host FailState::RuntimeError). */
  failure: VmFailure | undefined;
  /** How many times FAIL_RELOAD replaced the VM. */
  reloads = 0;
  /** Streams by context id, while alive. */
  readonly streams = new Map<number, HttpStream>();
  /** Per-connection filter state (LifeSpan DownstreamConnection), by connection id. */
  readonly connectionFilterState = new Map<number, Map<string, Uint8Array>>();

  private readonly module: WebAssembly.Module;
  private readonly moduleName: string;
  private exports!: Exports;
  private memory!: GuestMemory;
  private malloc!: GuestFn;
  private frame: CallFrame | null = null;
  private restricted: Set<string> | null = null;
  private crashed: EnvoyPanic | undefined;
  private nextContextId = 1;
  private readonly roots = new Map<number, RootContext>();
  private active: RootContext | undefined;
  private lastAcceptedConfig: Uint8Array | undefined;
  private lastCriticalLog: string | undefined;
  private lastExitCode: number | undefined;
  private readonly metricsById = new Map<number, MetricRecord>();
  private readonly metricsByName = new Map<string, MetricRecord>();
  private nextMetricId = [0, 1, 2]; // Envoy wasm.h: ids carry the type in the low 2 bits
  private readonly queues = new Map<number, { name: string; vmId: string; rootId: number; items: Uint8Array[] }>();
  private nextQueueToken = 1;
  private readonly environment: Array<[string, string]>;
  private readonly vmConfiguration: Uint8Array;

  // ------------------------------------------------------------ loading

  /** Compile and start a module from a path, bytes or a compiled module. Throws WasmLoadError. */
  static async load(source: string | Uint8Array | WebAssembly.Module, options: HostOptions): Promise<ProxyWasmHost> {
    let name = options.moduleName;
    let module: WebAssembly.Module;
    if (source instanceof WebAssembly.Module) module = source;
    else {
      const bytes = typeof source === "string" ? await readFile(source) : source;
      name ??= typeof source === "string" ? source : "<bytes>";
      try {
        module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
      } catch (e) {
        throw new WasmLoadError(`${name}: Failed to compile Wasm module: ${(e as Error).message}`);
      }
    }
    return new ProxyWasmHost(module, { ...options, moduleName: name ?? "<module>" });
  }

  /**
   * Envoy's canary, for a `validate` command: a fresh VM, one root context,
   * on_vm_start + on_configure; accepted iff both return true and nothing trapped
   * (cpp-host src/wasm.cc WasmHandleBase::canary).
   */
  static async validate(
    source: string | Uint8Array | WebAssembly.Module,
    configuration: string | Uint8Array,
    options: HostOptions,
  ): Promise<ValidationResult> {
    let host: ProxyWasmHost;
    try {
      host = await ProxyWasmHost.load(source, options);
    } catch (e) {
      return { accepted: false, logs: [], error: (e as Error).message };
    }
    const accepted = host.configure(configuration);
    return { accepted, logs: host.logs, failure: host.failure, error: host.failure ? host.failure.message : undefined };
  }

  /** Synchronous construction from a compiled module (benchmarks). Throws WasmLoadError. */
  constructor(module: WebAssembly.Module, options: HostOptions) {
    this.options = options;
    this.module = module;
    this.moduleName = options.moduleName ?? "<module>";
    this.rootId = options.rootId;
    this.vmId = options.vmId ?? "";
    this.pluginName = options.pluginName ?? options.rootId;
    this.clock = options.clock ?? new ManualClock();
    this.sharedData = options.sharedData ?? new SharedDataStore();
    this.filterStateFactories = options.filterStateFactories ?? defaultFilterStateFactories();
    this.envoyVersion = versionKey(options.envoyVersion ?? "1.35");
    this.environment = Object.entries(options.environment ?? {});
    this.vmConfiguration = asBytes(options.vmConfiguration);

    // ABI version from the exports (cpp-host src/bytecode_util.cc getAbiVersion).
    const exportNames = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    const abi = ABI_VERSION_EXPORTS.find(([n]) => exportNames.has(n));
    if (!abi) throw new WasmLoadError(`${this.moduleName}: Missing or unknown Proxy-Wasm ABI version`);
    this.abiVersion = abi[1];
    this.checkImports();
    this.instantiate();
  }

  /** Refuse imports Envoy would not satisfy (cpp-host src/v8/v8.cc link). */
  private checkImports(): void {
    const env = new Set<string>([
      ...PROXY_HOST_FUNCTIONS.map((f) => `proxy_${f}`),
      ...ABI_SPECIFIC_HOST_FUNCTIONS[this.abiVersion].map((f) => `proxy_${f}`),
      ...EXTRA_ENV_FUNCTIONS,
    ]);
    const wasi = new Set<string>(WASI_FUNCTIONS);
    for (const imp of WebAssembly.Module.imports(this.module)) {
      const known =
        imp.kind === "function" &&
        ((imp.module === "env" && env.has(imp.name)) ||
          ((WASI_MODULES as readonly string[]).includes(imp.module) && wasi.has(imp.name)));
      if (!known) {
        throw new WasmLoadError(
          `${this.moduleName}: Failed to load Wasm module due to a missing import: ${imp.module}.${imp.name}`,
        );
      }
    }
  }

  /** Instantiate (again, for FAIL_RELOAD) and run the start function. */
  private instantiate(): void {
    const instance = new WebAssembly.Instance(this.module, this.buildImports());
    const ex = instance.exports as Exports;
    // cpp-host src/wasm.cc getFunctions: malloc, else proxy_on_memory_allocate.
    const malloc = (ex.malloc ?? ex.proxy_on_memory_allocate) as GuestFn | undefined;
    if (typeof malloc !== "function") throw new WasmLoadError(`${this.moduleName}: Wasm module is missing malloc function.`);
    if (!(ex.memory instanceof WebAssembly.Memory)) {
      throw new WasmLoadError(`${this.moduleName}: Wasm module is missing memory export`);
    }
    this.exports = ex;
    this.memory = new GuestMemory(ex.memory);
    this.malloc = malloc;
    this.failure = undefined;
    this.frame = null;
    this.nextContextId = 1;
    this.roots.clear();
    this.active = undefined;
    this.metricsById.clear();
    this.nextMetricId = [0, 1, 2];

    // startVm: _initialize (+ main / __main_void) or _start, with restricted callbacks.
    const starts = typeof ex._initialize === "function" ? ["_initialize", "main", "__main_void"] : ["_start"];
    this.restricted = START_ALLOWED;
    try {
      for (const name of starts) {
        const fn = ex[name] as GuestFn | undefined;
        if (typeof fn !== "function") continue;
        const out = this.invoke(name, VM_CONTEXT, fn, name === "main" ? [0, 0] : []);
        if (out.trapped) {
          throw new WasmLoadError(`${this.moduleName}: Failed to start Wasm module: ${name} trapped: ${(this.failure as VmFailure | undefined)?.message}`);
        }
      }
    } finally {
      this.restricted = null;
    }
  }

  // ------------------------------------------------------------ root contexts

  /** The root context that serves new streams. */
  get rootContextId(): number | undefined {
    return this.active?.id;
  }

  get trapped(): boolean {
    return this.failure !== undefined;
  }

  /** The guest's linear memory size in bytes. Wasm memory never shrinks. */
  memoryBytes(): number {
    return this.memory.byteLength;
  }

  /**
   * Deliver a plugin configuration, as Envoy does for the first config and for a
   * config-only update (the VM is kept): a new root context id gets
   * on_context_create(id, 0), on_vm_start and on_configure (cpp-host src/context.cc
   * onStart/onConfigure). Returns the verdict Envoy's canary would give: false
   * (NACK) if either returns false or the guest traps. On rejection the new root
   * context is torn down and the previous one keeps serving; on acceptance the
   * previous root context gets on_done + on_delete.
   */
  configure(configuration: string | Uint8Array): boolean {
    this.assertAlive();
    const config = asBytes(configuration);
    if (this.failure) {
      if (this.options.failurePolicy !== "FAIL_RELOAD") {
        this.hostLog(4, "configure: the Wasm VM has failed; the configuration cannot be evaluated");
        return false;
      }
      this.reload();
    }
    const root = new RootContext(this.allocContextId(), config);
    this.roots.set(root.id, root);
    let ok = this.startRoot(root);
    if (ok) {
      root.configuring = true;
      const out = this.callRoot(root, "proxy_on_configure", [root.id, config.length]);
      root.configuring = false;
      ok = !out.trapped && (out.missing || out.value !== 0);
    }
    if (!ok) {
      if (!this.failure) this.shutdownRoot(root);
      this.roots.delete(root.id);
      return false;
    }
    const old = this.active;
    this.active = root;
    this.lastAcceptedConfig = config;
    if (old) this.shutdownRoot(old);
    return true;
  }

  /** on_context_create(root, 0) + on_vm_start(root, vm_config_size). */
  private startRoot(root: RootContext): boolean {
    const created = this.callRoot(root, "proxy_on_context_create", [root.id, 0]);
    if (created.trapped) return false;
    root.created = true;
    const started = this.callRoot(root, "proxy_on_vm_start", [root.id, this.vmConfiguration.length]);
    return !started.trapped && (started.missing || started.value !== 0);
  }

  /** cpp-host WasmBase::startShutdown(plugin): on_done; if true on_delete, else wait for proxy_done. */
  private shutdownRoot(root: RootContext): void {
    if (this.failure || !root.created) {
      root.deleted = true;
      this.roots.delete(root.id);
      return;
    }
    const done = this.callRoot(root, "proxy_on_done", [root.id]);
    if (!done.trapped && !done.missing && done.value === 0) {
      root.pendingDone = true;
      return;
    }
    this.deleteRoot(root);
  }

  private deleteRoot(root: RootContext): void {
    if (!root.deleted && !this.failure) this.callRoot(root, "proxy_on_delete", [root.id]);
    root.deleted = true;
    this.roots.delete(root.id);
  }

  /** Tear down every root context (Envoy shutting the VM down). */
  shutdown(): void {
    for (const r of [...this.roots.values()]) if (!r.pendingDone) this.shutdownRoot(r);
    this.active = undefined;
  }

  /** Fire proxy_on_tick on every root context with a tick period (or only `rootId`). */
  tick(rootContextId?: number): void {
    this.assertAlive();
    for (const r of [...this.roots.values()]) {
      if (rootContextId !== undefined ? r.id !== rootContextId : r.tickPeriodMs <= 0) continue;
      this.callRoot(r, "proxy_on_tick", [r.id]);
    }
  }

  /** Advance a ManualClock and fire the ticks that fell due, in time order. */
  advanceClock(ms: number): void {
    if (!(this.clock instanceof ManualClock)) throw new Error("advanceClock needs a ManualClock");
    const target = this.clock.nowNs() + BigInt(Math.round(ms * 1e6));
    for (;;) {
      let next: RootContext | undefined;
      for (const r of this.roots.values()) {
        if (r.tickPeriodMs > 0 && r.nextTickAtNs <= target && (!next || r.nextTickAtNs < next.nextTickAtNs)) next = r;
      }
      if (!next) break;
      const now = this.clock.nowNs();
      if (next.nextTickAtNs > now) this.clock.advance(Number(next.nextTickAtNs - now) / 1e6);
      next.nextTickAtNs += BigInt(next.tickPeriodMs) * 1_000_000n;
      this.callRoot(next, "proxy_on_tick", [next.id]);
      if (this.crashed) throw this.crashed;
    }
    const now = this.clock.nowNs();
    if (target > now) this.clock.advance(Number(target - now) / 1e6);
  }

  private callRoot(root: RootContext, name: string, args: number[]): CallOutcome {
    this.calls.push(`${name}(${root.id})`);
    if (this.calls.length > 10000) this.calls.splice(0, 5000);
    return this.callGuest(name, root, args);
  }

  // ------------------------------------------------------------ streams

  /** Start a request stream on the serving root context (step-by-step API). */
  stream(request: RequestDescription = {}): HttpStream {
    this.assertAlive();
    if (this.failure && this.options.failurePolicy === "FAIL_RELOAD") this.reload();
    if (!this.active) throw new Error("no accepted configuration: call configure() first (Envoy would answer 500 while warming)");
    const s = new HttpStream(this, this.allocContextId(), this.active, request);
    this.streams.set(s.id, s);
    return s;
  }

  /** The whole lifecycle of one request: headers, body, trailers, upstream, log, done, delete. */
  request(request: RequestDescription = {}, options: RequestOptions = {}): RequestResult {
    return this.stream(request).run(options);
  }

  /** @internal */
  streamEnded(s: HttpStream): void {
    this.streams.delete(s.id);
  }

  /** @internal the failure policy the streams apply. */
  get failurePolicy(): FailurePolicy {
    return this.options.failurePolicy ?? "FAIL_CLOSED";
  }

  /** @internal */
  get allowOnHeadersStopIteration(): boolean {
    return this.options.allowOnHeadersStopIteration ?? false;
  }

  private reload(): void {
    const config = this.lastAcceptedConfig;
    this.reloads++;
    this.hostLog(2, `FAIL_RELOAD: creating a new Wasm VM after: ${this.failure?.message}`);
    this.instantiate();
    if (config) this.configure(config);
  }

  private allocContextId(): number {
    while (this.roots.has(this.nextContextId) || this.streams.has(this.nextContextId)) this.nextContextId++;
    return this.nextContextId++;
  }

  private assertAlive(): void {
    if (this.crashed) throw new Error(`Envoy crashed earlier: ${this.crashed.message}`);
  }

  // ------------------------------------------------------------ calling the guest

  /** @internal Call a guest export for a context, with cpp-host's bookkeeping. */
  callGuest(name: string, ctx: AnyContext, args: Array<number | bigint>): CallOutcome {
    if (this.failure) return { value: undefined, stopped: false, trapped: true, missing: false };
    const fn = this.exports[name] as GuestFn | undefined;
    if (typeof fn !== "function") return { value: undefined, stopped: false, trapped: false, missing: true };
    return this.invoke(name, ctx, fn, args);
  }

  private invoke(name: string, ctx: AnyContext, fn: GuestFn, args: Array<number | bigint>): CallOutcome {
    const frame: CallFrame = { ctx, effective: null, after: [], stopNext: false };
    const outer = this.frame;
    this.frame = frame;
    let value: number | bigint | undefined;
    try {
      value = fn(...args);
    } catch (e) {
      this.frame = outer;
      this.onThrow(e, name, ctx.id);
      return { value: undefined, stopped: frame.stopNext, trapped: true, missing: false };
    }
    this.frame = outer;
    // DeferAfterCallActions: deferred work runs once the callback has returned.
    for (const action of frame.after) action();
    return { value: typeof value === "bigint" ? Number(value) : value, stopped: frame.stopNext, trapped: false, missing: false };
  }

  private onThrow(e: unknown, callback: string, contextId: number): void {
    if (e instanceof EnvoyPanic) {
      this.crashed = e;
      throw e;
    }
    const isTrap = e instanceof WebAssembly.RuntimeError || e instanceof WasmTrap || e instanceof RangeError;
    if (!isTrap) throw e; // a host bug: surface it
    const err = e as Error;
    // cpp-host: "Function: X failed: ..." then fail(FailState::RuntimeError).
    this.failure = {
      callback,
      contextId,
      message: err.message,
      lastCriticalLog: this.lastCriticalLog,
      exitCode: this.lastExitCode,
      stack: err.stack,
    };
    this.hostLog(5, `Function: ${callback} failed: ${err.message}${this.lastCriticalLog ? ` (last critical log: ${this.lastCriticalLog})` : ""}`);
  }

  /** The context host calls act on (cpp-host contextOrEffectiveContext). */
  private ctx(): AnyContext {
    const f = this.frame;
    if (!f) return VM_CONTEXT;
    return f.effective ?? f.ctx;
  }

  private rootOf(c: AnyContext): RootContext | undefined {
    return c.kind === "root" ? c : c.kind === "stream" ? c.root : undefined;
  }

  /** Allocate guest memory through its malloc and copy `bytes` in (cpp-host allocMemory). */
  private alloc(bytes: Uint8Array): number | null {
    const saved = this.restricted;
    this.restricted = MALLOC_ALLOWED;
    let ptr: number;
    try {
      ptr = Number(this.malloc(bytes.length)) >>> 0;
    } finally {
      this.restricted = saved;
    }
    if (ptr === 0) return null;
    return this.memory.write(ptr, bytes) ? ptr : null;
  }

  /** cpp-host WasmBase::copyToPointerSize: no allocation for an empty value (ptr 0, size 0). */
  private copyOut(bytes: Uint8Array, ptrPtr: number, sizePtr: number): number {
    let ptr = 0;
    if (bytes.length > 0) {
      const p = this.alloc(bytes);
      if (p === null) return WasmResult.InvalidMemoryAccess;
      ptr = p;
    }
    if (!this.memory.writeU32(ptrPtr >>> 0, ptr)) return WasmResult.InvalidMemoryAccess;
    if (!this.memory.writeU32(sizePtr >>> 0, bytes.length)) return WasmResult.InvalidMemoryAccess;
    return WasmResult.Ok;
  }

  private readStr(ptr: number, len: number): string | null {
    const b = this.memory.read(ptr >>> 0, len >>> 0);
    return b ? fromUtf8(b) : null;
  }

  // ------------------------------------------------------------ logging

  private record(level: number, message: string, contextId: number): void {
    const min = this.options.logLevel ?? 0;
    if (level < min) return;
    const entry = { level, message, contextId };
    this.logs.push(entry);
    const max = this.options.maxLogs ?? 100000;
    if (this.logs.length > max) this.logs.splice(0, this.logs.length - Math.floor(max / 2));
    const c = this.ctx();
    if (c.kind === "stream") c.logs.push(entry);
    const echo = this.options.echoLogs;
    if (echo !== undefined && echo !== false && level >= (echo === true ? min : echo)) {
      process.stderr.write(`[wasm ${LogLevelName[level] ?? level}] ctx=${contextId} ${message}\n`);
    }
  }

  /** Host-side notes, recorded at context 0 so tests and the CLI see them. */
  private hostLog(level: number, message: string): void {
    const entry = { level, message: `[host] ${message}`, contextId: 0 };
    this.logs.push(entry);
    if (this.options.echoLogs) process.stderr.write(`[host ${LogLevelName[level]}] ${message}\n`);
  }

  clearLogs(): void {
    this.logs = [];
  }

  // ------------------------------------------------------------ metrics / shared data accessors

  /** A metric by the name the guest defined it with. */
  metric(name: string): MetricRecord | undefined {
    return this.metricsByName.get(name);
  }

  get metrics(): ReadonlyMap<string, MetricRecord> {
    return this.metricsByName;
  }

  /** Tick period a root context asked for (0 = none). */
  tickPeriodMs(rootContextId = this.active?.id): number {
    return rootContextId === undefined ? 0 : (this.roots.get(rootContextId)?.tickPeriodMs ?? 0);
  }

  // ------------------------------------------------------------ properties

  /** @internal */
  propertyForRoot(segments: string[]): PropertyValue | undefined {
    const top = this.pluginProperty(segments[0] ?? "");
    return top && descend(top, segments.slice(1));
  }

  /** @internal plugin_* properties, available in every context (Envoy context.cc findValue). */
  pluginProperty(name: string): PropertyValue | undefined {
    switch (name) {
      case "plugin_name":
        return str(this.pluginName);
      case "plugin_root_id":
        return str(this.rootId);
      case "plugin_vm_id":
        return str(this.vmId);
    }
    return undefined;
  }

  // ------------------------------------------------------------ imports

  private buildImports(): WebAssembly.Imports {
    const env: Record<string, (...a: any[]) => unknown> = {};
    const guard = (mod: string, name: string, fn: (...a: any[]) => unknown) => {
      const full = `${mod}.${name}`;
      return (...a: any[]) => {
        if (this.restricted && !this.restricted.has(full)) throw new WasmTrap(`restricted_callback: ${full}`);
        return fn(...a);
      };
    };
    const h = this.hostFunctions();
    this.hostFunctionsCache = h;
    for (const [name, fn] of Object.entries(h)) env[name] = guard("env", name, fn);
    const wasiFns = this.wasiFunctions();
    const imports: WebAssembly.Imports = { env };
    for (const m of WASI_MODULES) {
      const o: Record<string, (...a: any[]) => unknown> = {};
      for (const f of WASI_FUNCTIONS) o[f] = guard(m, f, wasiFns[f] ?? (() => Errno.NOSYS));
      imports[m] = o;
    }
    return imports;
  }

  private hostFunctions(): Record<string, (...a: any[]) => unknown> {
    const R = WasmResult;
    const mem = () => this.memory;
    const u = (x: number) => x >>> 0;

    const headerMap = (type: number, mutable: boolean) => {
      const c = this.ctx();
      return c.kind === "stream" ? c.headerMap(type, mutable) : null;
    };

    return {
      // ---- logging, time
      proxy_log: (level: number, ptr: number, len: number) => {
        level = u(level);
        if (level > 5) {
          // cpp-host src/exports.cc log: level > LogLevel::Max (critical) → BadArgument.
          if (this.options.panicOnInvalidLogLevel) throw new EnvoyPanic(`proxy_log with level ${level}: PANIC("not implemented") in Envoy context.cc log`);
          this.hostLog(3, `proxy_log called with invalid level ${level} (BadArgument)`);
          return R.BadArgument;
        }
        const msg = this.readStr(ptr, len);
        if (msg === null) return R.InvalidMemoryAccess;
        if (level === 5) this.lastCriticalLog = msg;
        this.record(level, msg, this.ctx().id);
        return R.Ok;
      },
      proxy_get_log_level: (ptr: number) => (mem().writeU32(u(ptr), this.options.logLevel ?? 0) ? R.Ok : R.InvalidMemoryAccess),
      proxy_get_current_time_nanoseconds: (ptr: number) =>
        mem().writeU64(u(ptr), this.clock.nowNs()) ? R.Ok : R.InvalidMemoryAccess,
      proxy_set_tick_period_milliseconds: (ms: number) => {
        // cpp-host setTimerPeriod: on the root context of the calling context.
        const root = this.rootOf(this.ctx());
        if (!root) return R.BadArgument;
        root.tickPeriodMs = u(ms);
        root.nextTickAtNs = this.clock.nowNs() + BigInt(u(ms)) * 1_000_000n;
        return R.Ok;
      },

      // ---- properties
      proxy_get_property: (pathPtr: number, pathLen: number, valuePtrPtr: number, valueSizePtr: number) => {
        const path = this.readStr(pathPtr, pathLen);
        if (path === null) return R.InvalidMemoryAccess;
        const segments = path.split("\0");
        if (segments.length && segments[segments.length - 1] === "") segments.pop();
        const c = this.ctx();
        const v = c.kind === "stream" ? c.property(segments) : this.propertyForRoot(segments);
        if (!v) return R.NotFound;
        return this.copyOut(serialize(v), valuePtrPtr, valueSizePtr);
      },
      proxy_set_property: (kPtr: number, kLen: number, vPtr: number, vLen: number) => {
        const key = this.readStr(kPtr, kLen);
        const value = mem().read(u(vPtr), u(vLen));
        if (key === null || value === null) return R.InvalidMemoryAccess;
        // Envoy context.cc setProperty: a CelState under "wasm.<path>" in the request's
        // filter state; no stream info (root context) → NotFound.
        const c = this.ctx();
        if (c.kind !== "stream") return R.NotFound;
        c.setFilterState(`wasm.${key}`, value, 0);
        return R.Ok;
      },

      // ---- header maps (cpp-host exports.cc + Envoy context.cc)
      proxy_get_header_map_value: (type: number, kPtr: number, kLen: number, vPtrPtr: number, vSizePtr: number) => {
        if (u(type) > MapType.MAX) return R.BadArgument;
        const key = this.readStr(kPtr, kLen);
        if (key === null) return R.InvalidMemoryAccess;
        const c = this.ctx();
        const map = headerMap(type, false);
        if (!map) {
          // Envoy getHeaderMapValue: a missing map is NotFound in the access-log phase,
          // BadArgument otherwise.
          return c.kind === "stream" && c.inAccessLog ? R.NotFound : R.BadArgument;
        }
        const v = map.getBytes(key);
        if (v === undefined) return R.NotFound;
        return this.copyOut(v, vPtrPtr, vSizePtr);
      },
      proxy_get_header_map_pairs: (type: number, ptrPtr: number, sizePtr: number) => {
        if (u(type) > MapType.MAX) return R.BadArgument;
        const map = headerMap(type, false);
        // An empty (or unavailable) map is handed over as nothing: ptr 0, size 0.
        return this.copyOut(map && map.size ? map.encode() : new Uint8Array(0), ptrPtr, sizePtr);
      },
      proxy_get_header_map_size: (type: number, ptr: number) => {
        if (u(type) > MapType.MAX) return R.BadArgument;
        const map = headerMap(type, true);
        if (!map) return R.BadArgument;
        return mem().writeU32(u(ptr), map.byteSize()) ? R.Ok : R.InvalidMemoryAccess;
      },
      proxy_add_header_map_value: (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) =>
        this.mutateHeaders(type, kPtr, kLen, vPtr, vLen, (m, k, v) => m.add(k, v)),
      proxy_replace_header_map_value: (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) =>
        this.mutateHeaders(type, kPtr, kLen, vPtr, vLen, (m, k, v) => m.set(k, v)),
      proxy_remove_header_map_value: (type: number, kPtr: number, kLen: number) =>
        this.mutateHeaders(type, kPtr, kLen, 0, 0, (m, k) => m.remove(k)),
      proxy_set_header_map_pairs: (type: number, ptr: number, len: number) => {
        if (u(type) > MapType.MAX) return R.BadArgument;
        const data = mem().read(u(ptr), u(len));
        if (data === null) return R.InvalidMemoryAccess;
        const c = this.ctx();
        const map = headerMap(type, true);
        if (!map || c.kind !== "stream") return R.BadArgument;
        map.replaceAll(decodePairsWith(data, valueFromBytes));
        c.onHeadersModified(u(type));
        return R.Ok;
      },

      // ---- buffers
      proxy_get_buffer_bytes: (type: number, start: number, length: number, ptrPtr: number, sizePtr: number) => {
        if (u(type) > BufferType.MAX) return R.BadArgument;
        const buf = this.buffer(u(type));
        if (!buf) return R.NotFound;
        let s = u(start);
        let n = u(length);
        if (s > buf.length) n = 0;
        else if (s + n > buf.length) n = buf.length - s;
        return this.copyOut(n === 0 ? new Uint8Array(0) : buf.subarray(s, s + n), ptrPtr, sizePtr);
      },
      proxy_get_buffer_status: (type: number, lenPtr: number, flagsPtr: number) => {
        if (u(type) > BufferType.MAX) return R.BadArgument;
        const buf = this.buffer(u(type));
        if (!buf) return R.NotFound;
        // cpp-host always reports flags 0.
        if (!mem().writeU32(u(lenPtr), buf.length) || !mem().writeU32(u(flagsPtr), 0)) return R.InvalidMemoryAccess;
        return R.Ok;
      },
      proxy_set_buffer_bytes: (type: number, start: number, length: number, ptr: number, len: number) => {
        if (u(type) > BufferType.MAX) return R.BadArgument;
        const c = this.ctx();
        const data = mem().read(u(ptr), u(len));
        if (data === null) return R.InvalidMemoryAccess;
        if (c.kind !== "stream") return this.buffer(u(type)) ? R.BadArgument : R.NotFound;
        return c.setBody(u(type), u(start), u(length), data);
      },

      // ---- stream control
      proxy_continue_stream: (type: number) => {
        if (u(type) > StreamType.MAX) return R.BadArgument;
        const c = this.ctx();
        return c.kind === "stream" ? c.continueStream(u(type), this.frame!) : R.Ok;
      },
      proxy_close_stream: (type: number) => {
        if (u(type) > StreamType.MAX) return R.BadArgument;
        const c = this.ctx();
        return c.kind === "stream" ? c.closeStream(u(type), this.frame!) : R.Ok;
      },
      proxy_send_local_response: (
        code: number, dPtr: number, dLen: number, bPtr: number, bLen: number, hPtr: number, hLen: number, grpc: number,
      ) => {
        const details = this.readStr(dPtr, dLen);
        const body = mem().read(u(bPtr), u(bLen));
        const hdrs = mem().read(u(hPtr), u(hLen));
        if (details === null || body === null || hdrs === null) return R.InvalidMemoryAccess;
        const c = this.ctx();
        if (c.kind === "stream") c.queueLocalReply(this.frame!, u(code), body, decodePairs(hdrs), grpc | 0, details);
        // cpp-host exports.cc: the current callback's return value now counts as "stop".
        if (this.frame) this.frame.stopNext = true;
        return R.Ok;
      },
      proxy_get_status: (codePtr: number, ptrPtr: number, sizePtr: number) => {
        if (!mem().writeU32(u(codePtr), 0)) return R.InvalidMemoryAccess;
        return this.copyOut(new Uint8Array(0), ptrPtr, sizePtr);
      },

      // ---- contexts
      proxy_set_effective_context: (id: number) => {
        const cid = u(id);
        const target: AnyContext | undefined = this.roots.get(cid) ?? this.streams.get(cid);
        if (!target) return R.BadArgument;
        if (this.frame) this.frame.effective = target;
        return R.Ok;
      },
      proxy_done: () => {
        // cpp-host WasmBase::done: only a root context waiting after on_done=false.
        const c = this.ctx();
        if (c.kind !== "root" || !c.pendingDone) return R.NotFound;
        c.pendingDone = false;
        this.frame?.after.push(() => this.deleteRoot(c));
        return R.Ok;
      },

      // ---- foreign functions (Envoy foreign.cc)
      proxy_call_foreign_function: (nPtr: number, nLen: number, aPtr: number, aLen: number, rPtrPtr: number, rSizePtr: number) => {
        const name = this.readStr(nPtr, nLen);
        if (name === null) return R.InvalidMemoryAccess;
        const args = mem().read(u(aPtr), u(aLen));
        if (args === null) return R.InvalidMemoryAccess;
        const res = this.foreign(name, args);
        if (res === null) return R.NotFound;
        // No function here returns data: results ptr/size are written as 0 when asked for.
        if (u(rPtrPtr) !== 0 && !mem().writeU32(u(rPtrPtr), 0)) return R.InvalidMemoryAccess;
        if (u(rSizePtr) !== 0 && !mem().writeU32(u(rSizePtr), 0)) return R.InvalidMemoryAccess;
        return res;
      },

      // ---- shared data (cpp-host shared_data.cc, keyed by vm_id)
      proxy_get_shared_data: (kPtr: number, kLen: number, vPtrPtr: number, vSizePtr: number, casPtr: number) => {
        const key = this.readStr(kPtr, kLen);
        if (key === null) return R.InvalidMemoryAccess;
        const e = this.sharedData.get(this.vmId, key);
        if (!e) return R.NotFound;
        const r = this.copyOut(e.value, vPtrPtr, vSizePtr);
        if (r !== R.Ok) return r;
        return mem().writeU32(u(casPtr), e.cas) ? R.Ok : R.InvalidMemoryAccess;
      },
      proxy_set_shared_data: (kPtr: number, kLen: number, vPtr: number, vLen: number, cas: number) => {
        const key = this.readStr(kPtr, kLen);
        const value = mem().read(u(vPtr), u(vLen));
        if (key === null || value === null) return R.InvalidMemoryAccess;
        return this.sharedData.set(this.vmId, key, value, u(cas));
      },

      // ---- shared queues (minimal, in-process)
      proxy_register_shared_queue: (nPtr: number, nLen: number, tokenPtr: number) => {
        const name = this.readStr(nPtr, nLen);
        if (name === null) return R.InvalidMemoryAccess;
        const root = this.rootOf(this.ctx());
        let token = [...this.queues].find(([, q]) => q.name === name && q.vmId === this.vmId)?.[0];
        if (token === undefined) {
          token = this.nextQueueToken++;
          this.queues.set(token, { name, vmId: this.vmId, rootId: root?.id ?? 0, items: [] });
        } else this.queues.get(token)!.rootId = root?.id ?? 0;
        return mem().writeU32(u(tokenPtr), token) ? R.Ok : R.InvalidMemoryAccess;
      },
      proxy_resolve_shared_queue: (vPtr: number, vLen: number, nPtr: number, nLen: number, tokenPtr: number) => {
        const vm = this.readStr(vPtr, vLen);
        const name = this.readStr(nPtr, nLen);
        if (vm === null || name === null) return R.InvalidMemoryAccess;
        const vmId = vm === "" ? this.vmId : vm;
        const token = [...this.queues].find(([, q]) => q.name === name && q.vmId === vmId)?.[0];
        if (token === undefined) return R.NotFound;
        return mem().writeU32(u(tokenPtr), token) ? R.Ok : R.InvalidMemoryAccess;
      },
      proxy_enqueue_shared_queue: (token: number, ptr: number, len: number) => {
        const data = mem().read(u(ptr), u(len));
        if (data === null) return R.InvalidMemoryAccess;
        const q = this.queues.get(u(token));
        if (!q) return R.NotFound;
        q.items.push(data);
        const root = this.roots.get(q.rootId);
        // onQueueReady is posted to the registering root context's thread: run it after this call.
        if (root && this.frame) this.frame.after.push(() => void this.callRoot(root, "proxy_on_queue_ready", [root.id, u(token)]));
        return R.Ok;
      },
      proxy_dequeue_shared_queue: (token: number, ptrPtr: number, sizePtr: number) => {
        const q = this.queues.get(u(token));
        if (!q) return R.NotFound;
        const item = q.items.shift();
        if (!item) return R.Empty;
        return this.copyOut(item, ptrPtr, sizePtr);
      },

      // ---- metrics (Envoy context.cc defineMetric etc.)
      proxy_define_metric: (type: number, nPtr: number, nLen: number, idPtr: number) => {
        const t = u(type);
        if (t > MetricType.MAX) return R.BadArgument;
        const name = this.readStr(nPtr, nLen);
        if (name === null) return R.InvalidMemoryAccess;
        const kind = (["counter", "gauge", "histogram"] as const)[t];
        let rec = this.metricsByName.get(name);
        if (!rec || rec.type !== kind) {
          rec = { name, type: kind, value: 0n, samples: [] };
          this.metricsByName.set(name, rec);
        }
        const id = this.nextMetricId[t];
        this.nextMetricId[t] += 4;
        this.metricsById.set(id, rec);
        return mem().writeU32(u(idPtr), id) ? R.Ok : R.InvalidMemoryAccess;
      },
      proxy_increment_metric: (id: number, offset: bigint) => {
        const t = u(id) & 3;
        const rec = this.metricsById.get(u(id));
        if (t === MetricType.Counter) {
          if (!rec) return R.NotFound;
          if (offset <= 0n) return R.BadArgument;
          rec.value += offset;
          return R.Ok;
        }
        if (t === MetricType.Gauge) {
          if (!rec) return R.NotFound;
          rec.value += offset;
          return R.Ok;
        }
        return R.BadArgument;
      },
      proxy_record_metric: (id: number, value: bigint) => {
        const rec = this.metricsById.get(u(id));
        if (!rec) return R.NotFound;
        const v = BigInt.asUintN(64, value);
        if (rec.type === "counter") rec.value += v;
        else if (rec.type === "gauge") rec.value = v;
        else rec.samples.push(v);
        return R.Ok;
      },
      proxy_get_metric: (id: number, ptr: number) => {
        const t = u(id) & 3;
        if (t === MetricType.Histogram || t === 3) return R.BadArgument;
        const rec = this.metricsById.get(u(id));
        if (!rec) return R.NotFound;
        return mem().writeU64(u(ptr), rec.value) ? R.Ok : R.InvalidMemoryAccess;
      },

      // ---- outbound calls: no clusters in this stand-in
      proxy_http_call: () => R.Unimplemented,
      proxy_grpc_call: () => R.Unimplemented,
      proxy_grpc_stream: () => R.Unimplemented,
      proxy_grpc_send: () => R.Unimplemented,
      proxy_grpc_cancel: () => R.Unimplemented,
      proxy_grpc_close: () => R.Unimplemented,

      // ---- ABI 0.1.0 leftovers (only linkable by 0.1.0 modules)
      proxy_get_configuration: (ptrPtr: number, sizePtr: number) => {
        const c = this.ctx();
        const root = this.rootOf(c);
        return this.copyOut(root?.configuring ? root.configuration : this.vmConfiguration, ptrPtr, sizePtr);
      },
      proxy_continue_request: () => this.hostFunctionsCache!.proxy_continue_stream(StreamType.Request),
      proxy_continue_response: () => this.hostFunctionsCache!.proxy_continue_stream(StreamType.Response),
      proxy_clear_route_cache: () => {
        const c = this.ctx();
        if (c.kind === "stream") c.routeCacheCleared++;
        return R.Ok;
      },

      // ---- cpp-host / Envoy extras
      emscripten_notify_memory_growth: () => undefined,
      pthread_equal: (a: number, b: number) => (a === b ? 1 : 0),
      envoy_resolve_dns: () => R.Unimplemented,
    };
  }
  private hostFunctionsCache: Record<string, (...a: any[]) => any> | undefined;

  private mutateHeaders(
    type: number, kPtr: number, kLen: number, vPtr: number, vLen: number,
    op: (m: import("./headers.ts").HeaderMap, k: string, v: HeaderValue) => void,
  ): number {
    if (type >>> 0 > MapType.MAX) return WasmResult.BadArgument;
    const key = this.readStr(kPtr, kLen);
    const bytes = this.memory.read(vPtr >>> 0, vLen >>> 0);
    if (key === null || bytes === null) return WasmResult.InvalidMemoryAccess;
    const value = valueFromBytes(bytes);
    const c = this.ctx();
    if (c.kind !== "stream") return WasmResult.BadArgument;
    const map = c.headerMap(type >>> 0, true);
    if (!map) return WasmResult.BadArgument;
    op(map, key, value);
    c.onHeadersModified(type >>> 0);
    return WasmResult.Ok;
  }

  /** Envoy context.cc getBuffer. */
  private buffer(type: number): Uint8Array | null {
    const c = this.ctx();
    switch (type) {
      case BufferType.VmConfiguration:
        return this.vmConfiguration;
      case BufferType.PluginConfiguration: {
        const root = this.rootOf(c);
        return c.kind === "root" && root?.configuring ? root.configuration : null;
      }
      case BufferType.HttpRequestBody:
      case BufferType.HttpResponseBody:
        return c.kind === "stream" ? c.bodyBuffer(type) : new Uint8Array(0);
      case BufferType.CallData:
        return new Uint8Array(0);
      default:
        return null;
    }
  }

  /** Foreign functions; null = not registered (NotFound). */
  private foreign(name: string, args: Uint8Array): number | null {
    const c = this.ctx();
    switch (name) {
      case "set_envoy_filter_state": {
        let a;
        try {
          a = decodeSetEnvoyFilterStateArgs(args);
        } catch {
          return WasmResult.BadArgument;
        }
        // Envoy context.cc setEnvoyFilterState: unknown key → NotFound, unparsable
        // value → BadArgument, no stream info → NotFound.
        const factory = this.filterStateFactories.get(a.path);
        if (!factory) return WasmResult.NotFound;
        const obj = factory(a.value);
        if (obj === null) return WasmResult.BadArgument;
        if (c.kind !== "stream") return WasmResult.NotFound;
        c.setFilterState(a.path, utf8(obj), a.span);
        return WasmResult.Ok;
      }
      case "clear_route_cache":
        // Registered since Envoy 1.33 (envoy#36671).
        if (this.envoyVersion < 1033) return null;
        if (c.kind === "stream") c.routeCacheCleared++;
        return WasmResult.Ok;
      default:
        return null;
    }
  }

  // ------------------------------------------------------------ WASI (cpp-host exports.cc)

  private wasiFunctions(): Partial<Record<(typeof WASI_FUNCTIONS)[number], (...a: any[]) => unknown>> {
    const mem = () => this.memory;
    const u = (x: number) => x >>> 0;
    const stdio = (fd: number) => fd === 1 || fd === 2;
    const writev = (fd: number, iovs: number, n: number, nwrittenPtr: number) => {
      if (!stdio(fd)) return Errno.BADF;
      const parts: Uint8Array[] = [];
      for (let i = 0; i < u(n); i++) {
        const base = u(iovs) + i * 8;
        const buf = mem().readU32(base);
        const len = mem().readU32(base + 4);
        if (buf === null || len === null) return Errno.FAULT;
        if (len === 0) continue;
        const b = mem().read(buf, len);
        if (!b) return Errno.FAULT;
        parts.push(b);
      }
      let s = fromUtf8(Buffer.concat(parts));
      const written = Buffer.concat(parts).length;
      if (written) {
        if (s.endsWith("\n")) s = s.slice(0, -1);
        this.record(fd === 1 ? 2 : 4, s, this.ctx().id); // stdout → info, stderr → error
      }
      return mem().writeU32(u(nwrittenPtr), written) ? Errno.SUCCESS : Errno.FAULT;
    };
    const envStrings = () => this.environment.map(([k, v]) => utf8(`${k}=${v}\0`));
    return {
      fd_write: writev,
      fd_pwrite: (fd: number, iovs: number, n: number, _off: bigint, nw: number) => writev(fd, iovs, n, nw),
      fd_read: () => Errno.NOSYS,
      fd_pread: () => Errno.NOSYS,
      fd_seek: () => (this.vmErrors.push("wasi_unstable fd_seek"), 0),
      fd_close: () => (this.vmErrors.push("wasi_unstable fd_close"), 0),
      fd_fdstat_get: (fd: number, statPtr: number) => {
        if (!stdio(fd)) return Errno.BADF;
        const b = new Uint8Array(24);
        b[8] = 64; // fs_rights_base = FD_WRITE
        mem().write(u(statPtr), b);
        return Errno.SUCCESS;
      },
      fd_fdstat_set_flags: () => Errno.NOSYS,
      fd_prestat_get: () => Errno.BADF,
      fd_prestat_dir_name: () => Errno.NOSYS,
      fd_filestat_get: () => Errno.BADF,
      fd_advise: () => Errno.SUCCESS,
      fd_allocate: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
      fd_datasync: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
      fd_fdstat_set_rights: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
      fd_filestat_set_size: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
      fd_filestat_set_times: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
      fd_sync: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
      fd_tell: (fd: number, ptr: number) => {
        if (!stdio(fd)) return Errno.BADF;
        return mem().writeU64(u(ptr), 0n) ? Errno.SUCCESS : Errno.FAULT;
      },
      fd_readdir: (_fd: number, _b: number, _l: number, _c: bigint, nreadPtr: number) =>
        mem().writeU32(u(nreadPtr), 0) ? Errno.NOTDIR : Errno.FAULT,
      fd_renumber: (fd: number, to: number) => (stdio(fd) && stdio(to) ? Errno.NOTSUP : Errno.BADF),
      path_open: () => Errno.NOENT,
      path_filestat_get: () => Errno.NOTSUP,
      environ_sizes_get: (countPtr: number, sizePtr: number) => {
        const s = envStrings();
        if (!mem().writeU32(u(countPtr), s.length)) return Errno.FAULT;
        return mem().writeU32(u(sizePtr), s.reduce((n, b) => n + b.length, 0)) ? Errno.SUCCESS : Errno.FAULT;
      },
      environ_get: (arrayPtr: number, bufPtr: number) => {
        let a = u(arrayPtr);
        let b = u(bufPtr);
        for (const s of envStrings()) {
          if (!mem().writeU32(a, b) || !mem().write(b, s)) return Errno.FAULT;
          a += 4;
          b += s.length;
        }
        return Errno.SUCCESS;
      },
      args_sizes_get: (argcPtr: number, sizePtr: number) =>
        mem().writeU32(u(argcPtr), 0) && mem().writeU32(u(sizePtr), 0) ? Errno.SUCCESS : Errno.FAULT,
      args_get: () => Errno.SUCCESS,
      clock_time_get: (id: number, _precision: bigint, ptr: number) => {
        const v = id === 0 ? this.clock.nowNs() : id === 1 ? this.clock.monotonicNs() : undefined;
        if (v === undefined) return Errno.NOTSUP;
        return mem().writeU64(u(ptr), v) ? Errno.SUCCESS : Errno.FAULT;
      },
      clock_res_get: (id: number, ptr: number) => {
        if (id !== 0 && id !== 1) return Errno.NOTSUP;
        return mem().writeU64(u(ptr), 1n) ? Errno.SUCCESS : Errno.FAULT;
      },
      random_get: (ptr: number, len: number) => {
        if (u(len) > RANDOM_GET_MAX_BYTES) return Errno.INVAL;
        if (u(len) === 0) return Errno.SUCCESS;
        return mem().write(u(ptr), randomFillSync(new Uint8Array(u(len)))) ? Errno.SUCCESS : Errno.FAULT;
      },
      sched_yield: () => Errno.SUCCESS,
      poll_oneoff: (_in: number, _out: number, _n: number, neventsPtr: number) =>
        mem().writeU32(u(neventsPtr), 0) ? Errno.SUCCESS : Errno.FAULT,
      // cpp-host: proc_exit does not exit; Envoy's Context::error logs it at trace.
      proc_exit: (code: number) => {
        this.lastExitCode = code;
        this.vmErrors.push("wasi_unstable proc_exit");
        return undefined;
      },
      path_create_directory: () => Errno.NOTSUP,
      path_filestat_set_times: () => Errno.NOTSUP,
      path_link: () => Errno.NOTSUP,
      path_readlink: () => Errno.NOTSUP,
      path_remove_directory: () => Errno.NOTSUP,
      path_rename: () => Errno.NOTSUP,
      path_symlink: () => Errno.NOTSUP,
      path_unlink_file: () => Errno.NOTSUP,
      sock_accept: () => Errno.NOTSUP,
      sock_recv: () => Errno.NOTSUP,
      sock_send: () => Errno.NOTSUP,
      sock_shutdown: () => Errno.NOTSUP,
    };
  }
}
