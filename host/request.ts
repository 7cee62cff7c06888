// What a caller describes about one request and its upstream, for HttpStream.run
// and the step-by-step API (stream.ts).
import type { HeaderMap, HeadersInit } from "./headers.ts";

export interface RequestDescription {
  method?: string; // default GET
  /** :path, including the query string. Default "/". */
  path?: string;
  /** :path as bytes (a target that is not UTF-8); wins over `path`. */
  pathBytes?: Uint8Array;
  /** :authority. Default "localhost". */
  authority?: string;
  scheme?: string; // default "http"
  /** Stream info protocol as request.protocol shows it: "HTTP/1.1" (default), "HTTP/2", "HTTP/3". */
  protocol?: string;
  headers?: HeadersInit;
  body?: string | Uint8Array;
  trailers?: HeadersInit;
  /** Downstream remote address "ip:port" (source.address). Default "127.0.0.1:50000". */
  source?: string;
  /** Downstream local address (destination.address). Default "127.0.0.1:10000". */
  destination?: string;
  connectionId?: number;
  mtls?: boolean;
  requestedServerName?: string;
  /** A TLS connection: its version as Envoy names it ("TLSv1.3"); absent = plain text (no connection.tls_version). */
  tlsVersion?: string;
  /** Verified client certificate subject, RFC 2253 (connection.subject_peer_certificate; "" over TLS without one). */
  peerSubject?: string;
  /** x-request-id; Envoy generates one when absent. */
  requestId?: string;
  /**
   * Add what the HCM adds before filters run: x-forwarded-proto and x-request-id
   * (default true). Set false to hand the filter exactly `headers`.
   */
  envoyHeaders?: boolean;
}

export interface UpstreamResponse {
  status: number;
  headers?: HeadersInit;
  body?: string | Uint8Array;
  trailers?: HeadersInit;
  /** The upstream host "ip:port" (upstream.address). Default: the endpoint the router picks (plan header, else original_dst). */
  address?: string;
  attemptCount?: number;
}

/** What the router forwards, for an upstream function to decide its answer. */
export interface ForwardedRequest {
  headers: HeaderMap;
  header(name: string): string | undefined;
  body: Uint8Array;
  trailers: HeaderMap | undefined;
  filterState: Map<string, string>;
  /** envoy.network.transport_socket.original_dst_address, request first then connection. */
  originalDst: string | undefined;
  /** The endpoint the router connects to (override_host plan first, else originalDst). */
  endpoint: string | undefined;
}

export interface CompletionInfo {
  /** Overrides response.code (e.g. for a reset or a timeout). */
  responseCode?: number;
  codeDetails?: string;
  /** StreamInfo response flags bitmask (response.flags). Default 0. */
  responseFlags?: number;
  /** request.duration; default: clock time since the stream started. */
  durationMs?: number;
  upstreamAddress?: string;
  attemptCount?: number;
  grpcStatus?: number;
}

export interface RequestOptions {
  /** What the upstream answers if the filter let the request through. Default { status: 200 }. */
  upstream?: UpstreamResponse | ((req: ForwardedRequest) => UpstreamResponse);
  /** Passed to complete(). */
  completion?: CompletionInfo;
}
