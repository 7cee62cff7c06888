// Proxy-Wasm ABI 0.2.x constants, as Envoy's embedded host (proxy-wasm-cpp-host)
// understands them. Values from proxy-wasm/spec abi-versions/v0.2.1/README.md
// and proxy-wasm-cpp-sdk proxy_wasm_enums.h / proxy_wasm_common.h.

export const WasmResult = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  BadExpression: 5,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  ResultMismatch: 9,
  InternalFailure: 10,
  BrokenConnection: 11,
  Unimplemented: 12,
} as const;
export type WasmResultCode = (typeof WasmResult)[keyof typeof WasmResult];

/** Names by code, for log messages and test diagnostics. */
export const WasmResultName: Record<number, string> = Object.fromEntries(Object.entries(WasmResult).map(([k, v]) => [v, k]));

export const LogLevel = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, critical: 5 } as const;
export type LogLevelValue = 0 | 1 | 2 | 3 | 4 | 5;
export const LogLevelName = ["trace", "debug", "info", "warn", "error", "critical"] as const;

export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  NetworkDownstreamData: 2,
  NetworkUpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcReceiveBuffer: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
  MAX: 8,
} as const;

export const MapType = {
  RequestHeaders: 0,
  RequestTrailers: 1,
  ResponseHeaders: 2,
  ResponseTrailers: 3,
  GrpcReceiveInitialMetadata: 4,
  GrpcReceiveTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
  MAX: 7,
} as const;

export const StreamType = { Request: 0, Response: 1, Downstream: 2, Upstream: 3, MAX: 3 } as const;

export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2, MAX: 2 } as const;

// Filter return values. cpp-host src/context.cc convertVmCallResultTo* maps the
// raw i32 a callback returns onto these (see HttpStream for the mapping).
export const FilterHeadersStatus = ["Continue", "StopIteration", "ContinueAndEndStream", "StopAllIterationAndBuffer", "StopAllIterationAndWatermark"] as const;
export type FilterHeadersStatus = (typeof FilterHeadersStatus)[number];

export const FilterDataStatus = ["Continue", "StopIterationAndBuffer", "StopIterationAndWatermark", "StopIterationNoBuffer"] as const;
export type FilterDataStatus = (typeof FilterDataStatus)[number];

export const FilterTrailersStatus = ["Continue", "StopIteration"] as const;
export type FilterTrailersStatus = (typeof FilterTrailersStatus)[number];

/** gRPC status codes 0..16; anything else (e.g. -1 = InvalidCode) means "none". */
export const GrpcStatus = {
  Ok: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

export type AbiVersion = "0.1.0" | "0.2.0" | "0.2.1";

/** Export names that mark the ABI version (cpp-host src/bytecode_util.cc getAbiVersion). */
export const ABI_VERSION_EXPORTS: ReadonlyArray<[string, AbiVersion]> = [
  ["proxy_abi_version_0_2_1", "0.2.1"],
  ["proxy_abi_version_0_2_0", "0.2.0"],
  ["proxy_abi_version_0_1_0", "0.1.0"],
];

// Host functions registered under module "env" for every ABI version
// (cpp-host include/proxy-wasm/exports.h FOR_ALL_HOST_FUNCTIONS, all "proxy_"-prefixed).
export const PROXY_HOST_FUNCTIONS = [
  "log",
  "get_status",
  "set_property",
  "get_property",
  "send_local_response",
  "get_shared_data",
  "set_shared_data",
  "register_shared_queue",
  "resolve_shared_queue",
  "dequeue_shared_queue",
  "enqueue_shared_queue",
  "get_header_map_value",
  "add_header_map_value",
  "replace_header_map_value",
  "remove_header_map_value",
  "get_header_map_pairs",
  "set_header_map_pairs",
  "get_header_map_size",
  "get_buffer_status",
  "get_buffer_bytes",
  "set_buffer_bytes",
  "http_call",
  "grpc_call",
  "grpc_stream",
  "grpc_close",
  "grpc_cancel",
  "grpc_send",
  "set_tick_period_milliseconds",
  "get_current_time_nanoseconds",
  "define_metric",
  "increment_metric",
  "record_metric",
  "get_metric",
  "set_effective_context",
  "done",
  "call_foreign_function",
] as const;

// ABI-specific registrations (cpp-host src/wasm.cc registerCallbacks): 0.1.0 gets the
// old continue/route-cache calls, 0.2.x gets continue_stream/close_stream, 0.2.1 adds
// get_log_level. So a 0.2.0 module importing proxy_clear_route_cache fails to load.
export const ABI_SPECIFIC_HOST_FUNCTIONS: Record<AbiVersion, readonly string[]> = {
  "0.1.0": ["get_configuration", "continue_request", "continue_response", "clear_route_cache"],
  "0.2.0": ["continue_stream", "close_stream"],
  "0.2.1": ["continue_stream", "close_stream", "get_log_level"],
};

/** Other "env" imports the host provides: cpp-host's emscripten/pthread shims, Envoy's DNS call. */
export const EXTRA_ENV_FUNCTIONS = ["emscripten_notify_memory_growth", "pthread_equal", "envoy_resolve_dns"] as const;

// WASI functions, registered under both "wasi_unstable" and "wasi_snapshot_preview1"
// (cpp-host include/proxy-wasm/exports.h FOR_ALL_WASI_FUNCTIONS).
export const WASI_FUNCTIONS = [
  "fd_write",
  "fd_read",
  "fd_seek",
  "fd_close",
  "fd_fdstat_get",
  "fd_fdstat_set_flags",
  "fd_fdstat_set_rights",
  "environ_get",
  "environ_sizes_get",
  "args_get",
  "args_sizes_get",
  "clock_time_get",
  "clock_res_get",
  "fd_advise",
  "fd_allocate",
  "fd_datasync",
  "fd_filestat_set_size",
  "fd_filestat_set_times",
  "fd_pread",
  "fd_pwrite",
  "fd_readdir",
  "fd_renumber",
  "fd_sync",
  "fd_tell",
  "path_create_directory",
  "path_filestat_set_times",
  "path_link",
  "path_readlink",
  "path_remove_directory",
  "path_rename",
  "path_symlink",
  "path_unlink_file",
  "sock_accept",
  "sock_recv",
  "sock_send",
  "sock_shutdown",
  "random_get",
  "sched_yield",
  "poll_oneoff",
  "proc_exit",
  "path_open",
  "fd_prestat_get",
  "fd_prestat_dir_name",
  "path_filestat_get",
  "fd_filestat_get",
] as const;
export const WASI_MODULES = ["wasi_snapshot_preview1", "wasi_unstable"] as const;

// While `_initialize`/`_start` run, only logging and the WASI basics may be called
// (cpp-host src/wasm.cc startVm setRestrictedCallback); anything else traps with
// "restricted_callback" (cpp-host src/v8/v8.cc). Not on that list: every proxy_* call
// but proxy_log, and WASI fd_read, fd_seek, fd_close, sched_yield, proc_exit, path_open.
const START_DISALLOWED_WASI = new Set(["fd_read", "fd_seek", "fd_close", "sched_yield", "proc_exit", "path_open"]);
export const START_ALLOWED = new Set<string>([
  "env.proxy_log",
  "env.emscripten_notify_memory_growth",
  ...WASI_MODULES.flatMap((m) => WASI_FUNCTIONS.filter((f) => !START_DISALLOWED_WASI.has(f)).map((f) => `${m}.${f}`)),
]);
// While the host runs the guest's malloc only logging, fd_write, the clock and
// poll_oneoff are allowed (cpp-host include/proxy-wasm/wasm.h allocMemory).
export const MALLOC_ALLOWED = new Set([
  "env.proxy_log",
  "wasi_unstable.fd_write",
  "wasi_snapshot_preview1.fd_write",
  "wasi_unstable.clock_time_get",
  "wasi_snapshot_preview1.clock_time_get",
  "wasi_unstable.poll_oneoff",
  "wasi_snapshot_preview1.poll_oneoff",
]);

// Limits (cpp-host include/proxy-wasm/limits.h).
export const PAIRS_MAX_BYTES = 1024 * 1024;
export const PAIRS_MAX_COUNT = 1024;
export const RANDOM_GET_MAX_BYTES = 64 * 1024;
export const MAX_WASM_MEMORY_BYTES = 1024 * 1024 * 1024;

// WASI errno values used by the stubs (cpp-host src/exports.cc).
export const Errno = { SUCCESS: 0, BADF: 8, FAULT: 21, INVAL: 28, NOTDIR: 20, NOENT: 44, NOSYS: 52, NOTSUP: 58 } as const;
