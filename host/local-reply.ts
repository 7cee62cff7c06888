// A local reply as Envoy shapes it (FilterManager::sendLocalReply, Grpc::Utility):
// what the client gets when the filter, or a failed VM, answers instead of the upstream.
import { GrpcStatus } from "./abi.ts";
import type { HeaderMap } from "./headers.ts";

export interface LocalReply {
  /** The status the filter asked for (or 503 for wasm_fail_stream). */
  status: number;
  body: string;
  bodyBytes: Uint8Array;
  /** The reply's response headers (":status", the filter's extra headers, content-type…). */
  headers: HeaderMap;
  /** Response code details, whitespace replaced by "_" as Envoy does. */
  details: string;
  /** gRPC status passed by the filter if 0..16, else undefined (no grpc-status). */
  grpcStatus: number | undefined;
  /** "filter" = proxy_send_local_response; "wasm_fail_stream" = the VM failed. */
  origin: "filter" | "wasm_fail_stream";
}

/**
 * grpc-message as Envoy 1.40 sends it (observed, tests/e2e/protocols.test.ts):
 * gRPC's percent-encoding, where only bytes outside printable ASCII and "%"
 * itself are escaped; spaces, "<", "/" and the like stay as they are.
 */
export function grpcPercentEncode(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}
/** Envoy's Grpc::Utility::httpToGrpcStatus, used when a local reply answers a gRPC request. */
export function httpToGrpcStatus(code: number): number {
  switch (code) {
    case 400:
      return GrpcStatus.Internal;
    case 401:
      return GrpcStatus.Unauthenticated;
    case 403:
      return GrpcStatus.PermissionDenied;
    case 404:
      return GrpcStatus.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.Unavailable;
    default:
      return GrpcStatus.Unknown;
  }
}
