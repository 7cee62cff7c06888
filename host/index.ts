// A TypeScript stand-in for Envoy's proxy-wasm host (ABI 0.2.x), for tests, the
// CLI and benchmarks. See host.ts (VM, root contexts, host functions) and
// stream.ts (one HTTP stream).
export {
  ProxyWasmHost,
  ManualClock,
  SystemClock,
  SharedDataStore,
  EnvoyPanic,
  WasmLoadError,
  WasmTrap,
  RootContext,
  type HostOptions,
  type HostClock,
  type FailurePolicy,
  type LogEntry,
  type VmFailure,
  type ValidationResult,
  type MetricRecord,
  type CallOutcome,
} from "./host.ts";
export {
  HttpStream,
  type RequestDescription,
  type RequestOptions,
  type UpstreamResponse,
  type ForwardedRequest,
  type CompletionInfo,
  type LocalReply,
  type RequestResult,
} from "./stream.ts";
export { HeaderMap, headersToPairs, valueFromBytes, type HeadersInit, type HeaderValue, type RawPair } from "./headers.ts";
export { encodePairs, encodeBytePairs, decodePairs, decodePairsWith, pairsSize, type Pair } from "./pairs.ts";
export {
  ORIGINAL_DST_ADDRESS_KEY,
  LifeSpan,
  parseIpPort,
  encodeSetEnvoyFilterStateArgs,
  decodeSetEnvoyFilterStateArgs,
  defaultFilterStateFactories,
  type FilterStateFactory,
} from "./foreign.ts";
export * from "./abi.ts";
