// A TypeScript stand-in for Envoy's proxy-wasm host (ABI 0.2.x), for tests, the
// CLI and benchmarks. See README.md here for where things are.
export { ProxyWasmHost } from "./host.ts";
export {
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
} from "./context.ts";
export { HttpStream, type StreamHost, type RequestResult } from "./stream.ts";
export type { RequestDescription, RequestOptions, UpstreamResponse, ForwardedRequest, CompletionInfo } from "./request.ts";
export { grpcPercentEncode, type LocalReply } from "./local-reply.ts";
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
