// ProxyWasmHost: loads a proxy-wasm module into Node's V8 and drives it the way
// Envoy (with its embedded proxy-wasm-cpp-host) does. This file owns the VM, the
// root contexts and guest calls; the host functions are in imports/ (by ABI
// area), one HTTP stream in stream.ts, the public types in context.ts.
//
// Citations: "cpp-host X" = proxy-wasm/proxy-wasm-cpp-host file X;
// "Envoy X" = envoyproxy/envoy source/extensions/common/wasm/X unless a path is given.
import { readFile } from "node:fs/promises";
import {
  ABI_SPECIFIC_HOST_FUNCTIONS,
  ABI_VERSION_EXPORTS,
  Errno,
  EXTRA_ENV_FUNCTIONS,
  LogLevelName,
  MALLOC_ALLOWED,
  PROXY_HOST_FUNCTIONS,
  START_ALLOWED,
  WASI_FUNCTIONS,
  WASI_MODULES,
  WasmResult,
  type AbiVersion,
} from "./abi.ts";
import {
  EnvoyPanic,
  ManualClock,
  RootContext,
  SharedDataStore,
  WasmLoadError,
  WasmTrap,
  type CallOutcome,
  type FailurePolicy,
  type HostClock,
  type HostOptions,
  type LogEntry,
  type MetricRecord,
  type ValidationResult,
  type VmContext,
  type VmFailure,
} from "./context.ts";
import { defaultFilterStateFactories, type FilterStateFactory } from "./foreign.ts";
import {
  envFunctions,
  MetricStore,
  SharedQueues,
  wasiFunctions,
  type AnyContext,
  type CallFrame,
  type HostFunction,
  type HostFunctions,
  type HostInternals,
} from "./imports/index.ts";
import { GuestMemory } from "./memory.ts";
import { fromUtf8, utf8 } from "./pairs.ts";
import { descend, str, type PropertyValue } from "./properties.ts";
import type { RequestDescription, RequestOptions } from "./request.ts";
import { HttpStream, type RequestResult } from "./stream.ts";

type Exports = Record<string, unknown> & { memory?: WebAssembly.Memory };
type GuestFn = (...args: Array<number | bigint>) => number | bigint | undefined;

const VM_CONTEXT: VmContext = { kind: "vm", id: 0 };

/** Parse "1.33" / "v1.33.2" into a comparable number (1.33 → 1033). */
function versionKey(v: string): number {
  const m = /^v?(\d+)\.(\d+)/.exec(v);
  if (!m) throw new Error(`envoyVersion must look like "1.33", got ${JSON.stringify(v)}`);
  return Number(m[1]) * 1000 + Number(m[2]);
}

const asBytes = (v: string | Uint8Array | undefined): Uint8Array => (v === undefined ? new Uint8Array(0) : typeof v === "string" ? utf8(v) : v);

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
  private readonly metricStore = new MetricStore();
  private readonly queues = new SharedQueues();
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
  static async validate(source: string | Uint8Array | WebAssembly.Module, configuration: string | Uint8Array, options: HostOptions): Promise<ValidationResult> {
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
        ((imp.module === "env" && env.has(imp.name)) || ((WASI_MODULES as readonly string[]).includes(imp.module) && wasi.has(imp.name)));
      if (!known) {
        throw new WasmLoadError(`${this.moduleName}: Failed to load Wasm module due to a missing import: ${imp.module}.${imp.name}`);
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
    this.metricStore.resetIds();

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
    return this.metricStore.byName.get(name);
  }

  get metrics(): ReadonlyMap<string, MetricRecord> {
    return this.metricStore.byName;
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
    const env: HostFunctions = {};
    const guard = (mod: string, name: string, fn: HostFunction): HostFunction => {
      const full = `${mod}.${name}`;
      return (...a: unknown[]) => {
        if (this.restricted && !this.restricted.has(full)) throw new WasmTrap(`restricted_callback: ${full}`);
        return fn(...a);
      };
    };
    for (const [name, fn] of Object.entries(this.hostFunctions())) env[name] = guard("env", name, fn);
    const wasiFns = wasiFunctions(this.internals());
    const imports: WebAssembly.Imports = { env };
    for (const m of WASI_MODULES) {
      const o: HostFunctions = {};
      for (const f of WASI_FUNCTIONS) o[f] = guard(m, f, wasiFns[f] ?? (() => Errno.NOSYS));
      imports[m] = o;
    }
    return imports;
  }

  /**
   * The `env` functions a new VM links against. Tests override it in a subclass
   * to count or wrap host calls the guest makes.
   */
  protected hostFunctions(): HostFunctions {
    return envFunctions(this.internals());
  }

  /** The view of this host that the host functions get (imports/internals.ts). */
  private internals(): HostInternals {
    const host = this;
    return {
      options: this.options,
      clock: this.clock,
      get memory() {
        return host.memory;
      },
      get frame() {
        return host.frame;
      },
      vmId: this.vmId,
      vmConfiguration: this.vmConfiguration,
      environment: this.environment,
      envoyVersion: this.envoyVersion,
      sharedData: this.sharedData,
      queues: this.queues,
      metrics: this.metricStore,
      filterStateFactories: this.filterStateFactories,
      vmErrors: this.vmErrors,
      get lastCriticalLog() {
        return host.lastCriticalLog;
      },
      set lastCriticalLog(v) {
        host.lastCriticalLog = v;
      },
      get lastExitCode() {
        return host.lastExitCode;
      },
      set lastExitCode(v) {
        host.lastExitCode = v;
      },
      ctx: () => this.ctx(),
      rootOf: (c) => this.rootOf(c),
      rootById: (id) => this.roots.get(id),
      contextById: (id) => this.roots.get(id) ?? this.streams.get(id),
      copyOut: (b, p, s) => this.copyOut(b, p, s),
      readStr: (p, l) => this.readStr(p, l),
      record: (l, m, c) => this.record(l, m, c),
      hostLog: (l, m) => this.hostLog(l, m),
      callRoot: (r, n, a) => this.callRoot(r, n, a),
      deleteRoot: (r) => this.deleteRoot(r),
      propertyForRoot: (s) => this.propertyForRoot(s),
    };
  }
}
