// One HTTP stream through the Wasm filter, driven as Envoy's HTTP connection
// manager drives a decoder/encoder filter (Envoy source/extensions/common/wasm/context.cc
// decodeHeaders/decodeData/encodeHeaders/log/onDestroy, on top of cpp-host
// src/context.cc onRequestHeaders & co).
import { BufferType, FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, GrpcStatus, MapType, StreamType, WasmResult } from "./abi.ts";
import { CLUSTER_HEADER, PLAN_HEADER } from "../envoy/control-plane/apisix/steering.ts";
import { ORIGINAL_DST_ADDRESS_KEY } from "./foreign.ts";
import { HeaderMap, headersToPairs, type HeadersInit, type RawPair } from "./headers.ts";
import type { CallOutcome, DeferredActions, FailurePolicy, HostClock, HostOptions, LogEntry, RootContext, VmFailure } from "./context.ts";
import { fromUtf8, utf8, type Pair } from "./pairs.ts";
import { grpcPercentEncode, httpToGrpcStatus, type LocalReply } from "./local-reply.ts";
import { streamProperty, type PropertyValue } from "./properties.ts";
import type { CompletionInfo, ForwardedRequest, RequestDescription, RequestOptions } from "./request.ts";

/**
 * What a stream needs of its host (ProxyWasmHost in host.ts): declared here so
 * that this file does not import host.ts, which imports it.
 */
export interface StreamHost {
  readonly clock: HostClock;
  /** Per-connection filter state (LifeSpan DownstreamConnection), by connection id. */
  readonly connectionFilterState: Map<number, Map<string, Uint8Array>>;
  readonly failure: VmFailure | undefined;
  readonly failurePolicy: FailurePolicy;
  readonly allowOnHeadersStopIteration: boolean;
  callGuest(name: string, ctx: HttpStream, args: Array<number | bigint>): CallOutcome;
  streamEnded(s: HttpStream): void;
  pluginProperty(name: string): PropertyValue | undefined;
  readonly options: Readonly<Pick<HostOptions, "clusterEndpoints">>;
}

/** What host.request() returns: the gateway-visible outcome of one request. */
export interface RequestResult {
  /** The stream, for anything not summarised here. */
  stream: HttpStream;
  contextId: number;
  /** What the client got: the local reply's :status (200 for a gRPC one) or the upstream's; undefined if stalled. */
  status: number | undefined;
  localReply: LocalReply | undefined;
  /** The request headers as the router saw them after the filter. */
  requestHeaders: HeaderMap;
  /** First value of a request header as the router saw it. */
  header(name: string): string | undefined;
  /** The response headers the client got (after the filter), if any. */
  responseHeaders: HeaderMap | undefined;
  responseHeader(name: string): string | undefined;
  /** Filter state as strings, e.g. "envoy.network.transport_socket.original_dst_address" → "10.0.0.1:80". */
  filterState: Map<string, string>;
  /** The ORIGINAL_DST override the router would use. */
  originalDst: string | undefined;
  /** The endpoint the router connects to first (see Stream#endpoint). */
  endpoint: string | undefined;
  /** How many retries the router allows (see Stream#retries). */
  retries: number;
  logs: LogEntry[];
  routeCacheCleared: number;
  /** The router received the request. */
  forwarded: boolean;
  forwardedBody: Uint8Array;
  stalled: boolean;
  /** Answered with 503 wasm_fail_stream. */
  failed: boolean;
  reset: boolean;
  /** Guest callbacks this stream made, in order. */
  calls: string[];
}

const EMPTY = new Uint8Array(0);

const asBytes = (v: string | Uint8Array | undefined): Uint8Array => (v === undefined ? EMPTY : typeof v === "string" ? utf8(v) : v);

let requestIdCounter = 0;

export class HttpStream {
  readonly kind = "stream" as const;
  readonly request: RequestDescription;
  /** The request header map the filter sees and the router forwards. */
  readonly requestHeaderMap: HeaderMap;
  requestTrailerMap: HeaderMap | undefined;
  responseHeaderMap: HeaderMap | undefined;
  responseTrailerMap: HeaderMap | undefined;
  /** Logs emitted while this stream's callbacks ran. */
  readonly logs: LogEntry[] = [];
  /** Guest callbacks in order, e.g. "proxy_on_request_headers". */
  readonly calls: string[] = [];
  /** Route cache clears: request-header mutations (Envoy onHeadersModified) and clear_route_cache calls. */
  routeCacheCleared = 0;
  localReply: LocalReply | undefined;
  /** The router received the request headers (the filter continued them). */
  forwarded = false;
  /** The whole request (headers, body, trailers) went past the filter. */
  decodeComplete = false;
  /**
   * An HTTP/1.1 upgrade request (Connection lists "upgrade", Upgrade present),
   * judged on the headers as the client sent them. Envoy's HTTP/1 codec then
   * switches the connection to upgrade mode before any filter runs: the
   * headers reach the filters with end_stream false and every later byte on
   * the connection is request body, even if a filter removes the upgrade
   * headers. So the request never completes; the upstream may answer anyway.
   * (Observed with Envoy 1.40: tests/e2e/protocols.test.ts.)
   */
  readonly http1Upgrade: boolean;
  /** Body bytes the router forwarded. */
  forwardedBody: Uint8Array = EMPTY;
  /** The filter stopped and never continued (request.run only). */
  stalled = false;
  /** The stream was reset (reset(), or a local reply after the response had started). */
  wasReset = false;
  completed = false;
  /** on_context_create ran (cpp-host in_vm_context_created_). */
  created = false;
  /** @internal */ inAccessLog = false;
  /** The upstream's status, once response headers came from upstream. */
  upstreamStatus: number | undefined;

  private readonly startNs: bigint;
  private durationNs: bigint | undefined;
  private responseCode: number | undefined;
  private codeDetails: string | undefined;
  private responseFlags = 0;
  private grpcStatusOverride: number | undefined;
  private upstreamAddress: string | undefined;
  private attemptCount: number | undefined;
  private readonly filterStateMap = new Map<string, { value: Uint8Array; span: number }>();

  // Envoy context.cc keeps raw pointers to the current maps/buffers; a null pointer
  // makes header calls fail with BadArgument. These flags model those pointers.
  private reqHeadersLive = false;
  private reqTrailersLive = false;
  private respHeadersLive = false;
  private respTrailersLive = false;
  private reqBody: Uint8Array | null = null;
  private respBody: Uint8Array | null = null;
  private decoderStoppedAt: "headers" | "body" | "trailers" | null = null;
  private filterBuffering = false;
  private filterBuffer: Uint8Array = EMPTY;
  private lastBodyEos = false;
  private headersEos = false;
  private headersDelivered = false;
  private hcmPending: Array<{ body: Uint8Array; eos: boolean } | { trailers: HeadersInit }> = [];
  private inDecode = false;
  private continueRequested = false;
  private failureReplySent = false;
  private responseStarted = false;

  constructor(
    private readonly host: StreamHost,
    readonly id: number,
    readonly root: RootContext,
    request: RequestDescription,
  ) {
    this.request = request;
    this.startNs = host.clock.nowNs();
    const scheme = request.scheme ?? "http";
    // Pseudo-headers first, in the order Envoy's request map iterates them.
    const pairs: RawPair[] = [
      [":authority", request.authority ?? "localhost"],
      [":path", request.pathBytes ?? request.path ?? "/"],
      [":method", request.method ?? "GET"],
      [":scheme", scheme],
    ];
    const extra = headersToPairs(request.headers);
    pairs.push(...extra);
    const m = new HeaderMap(pairs);
    if (request.envoyHeaders !== false) {
      if (!m.has("x-forwarded-proto")) m.add("x-forwarded-proto", scheme);
      const rid = request.requestId ?? m.get("x-request-id") ?? `00000000-0000-4000-8000-${(++requestIdCounter).toString(16).padStart(12, "0")}`;
      m.set("x-request-id", rid);
    } else if (request.requestId !== undefined) m.set("x-request-id", request.requestId);
    this.requestHeaderMap = m;
    const h1 = (request.protocol ?? "HTTP/1.1").startsWith("HTTP/1");
    const upgrade = m.get("upgrade");
    const connectionUpgrade = m.getAll("connection").some((v) => v.split(",").some((t) => t.trim().toLowerCase() === "upgrade"));
    // Envoy 1.40 (observed): filters never see an Upgrade header that is no
    // upgrade (no Connection: upgrade) nor an h2c upgrade attempt; the HCM
    // drops those and the request is an ordinary one.
    const dropped = h1 && request.envoyHeaders !== false && upgrade !== undefined && (!connectionUpgrade || upgrade.trim().toLowerCase() === "h2c");
    if (dropped) m.remove("upgrade");
    this.http1Upgrade = h1 && upgrade !== undefined && connectionUpgrade && !dropped;
  }

  // ---------------------------------------------------------------- results

  /** What the client got: the local reply's status (200 for a gRPC one) or the upstream's. */
  get status(): number | undefined {
    if (this.localReply) return Number(this.localReply.headers.get(":status"));
    return this.upstreamStatus;
  }

  /** First value of a request header as the router sees it. */
  header(name: string): string | undefined {
    return this.requestHeaderMap.get(name);
  }

  /** Filter state as strings: request-scoped entries over the connection's. */
  get filterState(): Map<string, string> {
    const out = new Map<string, string>();
    const conn = this.host.connectionFilterState.get(this.connectionId);
    if (conn) for (const [k, v] of conn) out.set(k, fromUtf8(v));
    for (const [k, v] of this.filterStateMap) out.set(k, fromUtf8(v.value));
    return out;
  }

  /** True when the request was answered with wasm_fail_stream. */
  get failed(): boolean {
    return this.localReply?.origin === "wasm_fail_stream";
  }

  get connectionId(): number {
    return this.request.connectionId ?? this.id;
  }

  /** The ORIGINAL_DST override an Envoy router would use (request first, then connection). */
  get originalDst(): string | undefined {
    const r = this.filterStateMap.get(ORIGINAL_DST_ADDRESS_KEY);
    if (r) return fromUtf8(r.value);
    const c = this.host.connectionFilterState.get(this.connectionId)?.get(ORIGINAL_DST_ADDRESS_KEY);
    return c ? fromUtf8(c) : undefined;
  }

  /**
   * The endpoint Envoy's router connects to first: in override-host clusters
   * the first address of the filter's plan header (override_host reads it);
   * in ORIGINAL_DST clusters, where the filter sets no plan for a single try,
   * the original_dst filter state; else the cluster's only endpoint (an
   * upstream of one node gets no plan: HostOptions.clusterEndpoints).
   */
  get endpoint(): string | undefined {
    const plan = this.requestHeaderMap.get(PLAN_HEADER);
    if (plan !== undefined && plan.length > 0) return plan.split(",")[0];
    const dst = this.originalDst;
    if (dst !== undefined) return dst;
    const cluster = this.requestHeaderMap.get(CLUSTER_HEADER);
    const endpoints = cluster !== undefined ? this.host.options.clusterEndpoints?.(cluster) : undefined;
    return endpoints?.length === 1 ? endpoints[0] : undefined;
  }

  /**
   * The retries Envoy's router allows this request (the routes the control
   * plane publishes have no retry policy): none without x-envoy-retry-on;
   * with it, x-envoy-max-retries, or 1 when that is absent (the router's
   * default).
   */
  get retries(): number {
    if (this.requestHeaderMap.get("x-envoy-retry-on") === undefined) return 0;
    const max = this.requestHeaderMap.get("x-envoy-max-retries");
    return max === undefined ? 1 : /^\d+$/.test(max) ? Number(max) : 1;
  }

  // ---------------------------------------------------------------- whole lifecycle

  /** The gateway-visible outcome (see RequestResult). */
  result(): RequestResult {
    return {
      stream: this,
      contextId: this.id,
      status: this.status,
      localReply: this.localReply,
      requestHeaders: this.requestHeaderMap,
      header: (n) => this.requestHeaderMap.get(n),
      responseHeaders: this.responseHeaderMap,
      responseHeader: (n) => this.responseHeaderMap?.get(n),
      filterState: this.filterState,
      originalDst: this.originalDst,
      endpoint: this.endpoint,
      retries: this.retries,
      logs: this.logs,
      routeCacheCleared: this.routeCacheCleared,
      forwarded: this.forwarded,
      forwardedBody: this.forwardedBody,
      stalled: this.stalled,
      failed: this.failed,
      reset: this.wasReset,
      calls: this.calls,
    };
  }

  /** Headers, body, trailers, upstream answer, then log/done/delete. */
  run(options: RequestOptions = {}): RequestResult {
    const body = asBytes(this.request.body);
    const trailerPairs = headersToPairs(this.request.trailers);
    const hasBody = body.length > 0;
    const hasTrailers = trailerPairs.length > 0;
    const open = this.http1Upgrade;
    this.requestHeaders_(!hasBody && !hasTrailers && !open);
    if (hasBody) this.requestBody(body, !hasTrailers && !open);
    if (hasTrailers && !open) this.requestTrailersStep(trailerPairs);
    const routerHasHeaders = this.forwarded && this.decoderStoppedAt === null;
    if ((this.decodeComplete || (open && routerHasHeaders)) && !this.localReply && !this.wasReset) {
      const up = typeof options.upstream === "function" ? options.upstream(this.forwardedRequest()) : (options.upstream ?? { status: 200 });
      if (up.address !== undefined || up.attemptCount !== undefined) this.setUpstream(up.address, up.attemptCount);
      const upBody = asBytes(up.body);
      const upTrailers = headersToPairs(up.trailers);
      this.responseHeadersStep(up.status, up.headers, upBody.length === 0 && upTrailers.length === 0);
      if (upBody.length && !this.localReply && !this.wasReset) this.responseBody(upBody, upTrailers.length === 0);
      if (upTrailers.length && !this.localReply && !this.wasReset) this.responseTrailersStep(upTrailers);
    } else if (!this.localReply && !this.wasReset) {
      this.stalled = true;
    }
    this.complete(options.completion);
    return this.result();
  }

  /** The request as the router forwards it. */
  forwardedRequest(): ForwardedRequest {
    return {
      headers: this.requestHeaderMap,
      header: (n) => this.requestHeaderMap.get(n),
      body: this.forwardedBody,
      trailers: this.requestTrailerMap,
      filterState: this.filterState,
      originalDst: this.originalDst,
      endpoint: this.endpoint,
    };
  }

  /** Which upstream host the router picked (upstream.address) and how many attempts it made. */
  setUpstream(address?: string, attemptCount = 1): void {
    this.upstreamAddress = address ?? this.endpoint;
    this.attemptCount = attemptCount;
  }

  // ---------------------------------------------------------------- decode path

  /** Deliver the request headers (decodeHeaders). Returns the status Envoy's HCM gets. */
  requestHeaders(endOfStream = false): FilterHeadersStatus {
    return this.requestHeaders_(endOfStream);
  }

  private requestHeaders_(eos: boolean): FilterHeadersStatus {
    if (this.headersDelivered) {
      throw new Error("request headers were already delivered on this stream");
    }
    this.headersDelivered = true;
    this.headersEos = eos;
    if (this.host.failure && this.host.failurePolicy === "FAIL_OPEN") {
      this.forwardHeaders(eos);
      return "Continue";
    }
    this.onCreate();
    this.reqHeadersLive = true;
    this.inDecode = true;
    const out = this.call("proxy_on_request_headers", [this.id, this.requestHeaderMap.size, eos ? 1 : 0]);
    const status = this.checkFail(out) ?? this.headersStatus(out);
    this.inDecode = false;
    if (this.localReply || this.wasReset) return status;
    if (status === "Continue" || status === "ContinueAndEndStream") {
      this.reqHeadersLive = false;
      this.forwardHeaders(eos || status === "ContinueAndEndStream");
    } else {
      this.decoderStoppedAt = "headers";
      this.takeContinue();
    }
    return status;
  }

  /**
   * Deliver a request body chunk (decodeData). While the filter holds the headers
   * (StopAll…), Envoy buffers the data without calling the filter: "Buffered".
   */
  requestBody(data: string | Uint8Array, endOfStream: boolean): FilterDataStatus | "Buffered" {
    const chunk = asBytes(data);
    if (this.localReply || this.wasReset || this.decodeComplete) return "Continue";
    if (!this.forwarded && this.decoderStoppedAt === "headers") {
      this.hcmPending.push({ body: chunk, eos: endOfStream });
      return "Buffered";
    }
    if (this.decoderStoppedAt === "trailers") throw new Error("body after trailers");
    if (!this.created || (this.host.failure && this.host.failurePolicy === "FAIL_OPEN")) {
      this.forwardBody(chunk, endOfStream);
      return "Continue";
    }
    const buffered = this.filterBuffering ? concat(this.filterBuffer, chunk) : chunk;
    this.reqBody = buffered;
    this.lastBodyEos = endOfStream;
    this.inDecode = true;
    const out = this.call("proxy_on_request_body", [this.id, buffered.length, endOfStream ? 1 : 0]);
    const status = this.checkFail(out) ? "StopIterationNoBuffer" : this.dataStatus(out);
    this.inDecode = false;
    this.filterBuffering = false;
    if (this.localReply || this.wasReset) return status;
    const current = this.reqBody ?? buffered;
    switch (status) {
      case "Continue":
        this.reqBody = null;
        this.decoderStoppedAt = null;
        this.forwardBody(current, endOfStream);
        break;
      case "StopIterationAndBuffer":
      case "StopIterationAndWatermark":
        this.filterBuffering = true;
        this.filterBuffer = current;
        this.decoderStoppedAt = "body";
        this.takeContinue();
        break;
      case "StopIterationNoBuffer":
        this.filterBuffer = EMPTY;
        this.decoderStoppedAt = "body";
        this.takeContinue();
        break;
    }
    return status;
  }

  /** Deliver request trailers (decodeTrailers). */
  requestTrailers(trailers: HeadersInit): FilterTrailersStatus | "Buffered" {
    return this.requestTrailersStep(headersToPairs(trailers));
  }

  private requestTrailersStep(pairs: RawPair[]): FilterTrailersStatus | "Buffered" {
    if (this.localReply || this.wasReset || this.decodeComplete) return "Continue";
    if (this.decoderStoppedAt !== null) {
      this.hcmPending.push({ trailers: pairs });
      return "Buffered";
    }
    this.requestTrailerMap = new HeaderMap(pairs);
    if (!this.created || (this.host.failure && this.host.failurePolicy === "FAIL_OPEN")) {
      this.decodeComplete = true;
      return "Continue";
    }
    this.reqTrailersLive = true;
    this.inDecode = true;
    const out = this.call("proxy_on_request_trailers", [this.id, this.requestTrailerMap.size]);
    const status = this.checkFail(out) ? "StopIteration" : this.trailersStatus(out);
    this.inDecode = false;
    if (this.localReply || this.wasReset) return status;
    if (status === "Continue") {
      this.reqTrailersLive = false;
      this.decodeComplete = true;
    } else {
      this.decoderStoppedAt = "trailers";
      this.takeContinue();
    }
    return status;
  }

  private forwardHeaders(eos: boolean): void {
    this.forwarded = true;
    if (eos) this.decodeComplete = true;
  }

  private forwardBody(chunk: Uint8Array, eos: boolean): void {
    if (chunk.length) this.forwardedBody = concat(this.forwardedBody, chunk);
    if (eos) this.decodeComplete = true;
  }

  /** A continue_stream(Request) issued during the callback that just stopped. */
  private takeContinue(): void {
    if (this.continueRequested) {
      this.continueRequested = false;
      this.continueDecoding();
    }
  }

  /** Envoy decoder_callbacks_->continueDecoding(): resume from where the filter stopped. */
  private continueDecoding(): void {
    if (this.inDecode) {
      // Called from inside this stream's own callback: take effect once it returned.
      this.continueRequested = true;
      return;
    }
    const at = this.decoderStoppedAt;
    if (at === null || this.localReply || this.wasReset) return;
    this.decoderStoppedAt = null;
    if (at === "headers") {
      this.forwardHeaders(this.headersEos);
      // Data the HCM held while the filter had stopped everything is delivered now.
      const pending = this.hcmPending;
      this.hcmPending = [];
      for (const p of pending) {
        if ("body" in p) this.requestBody(p.body, p.eos);
        else this.requestTrailersStep(headersToPairs(p.trailers));
      }
    } else if (at === "body") {
      const data = this.filterBuffer;
      this.filterBuffering = false;
      this.filterBuffer = EMPTY;
      this.forwardBody(data, this.lastBodyEos);
      const pending = this.hcmPending;
      this.hcmPending = [];
      for (const p of pending) if ("trailers" in p) this.requestTrailersStep(headersToPairs(p.trailers));
    } else {
      this.decodeComplete = true;
    }
  }

  // ---------------------------------------------------------------- encode path

  /** Deliver the upstream's response headers (encodeHeaders). */
  responseHeaders(status: number, headers?: HeadersInit, endOfStream = false): FilterHeadersStatus {
    return this.responseHeadersStep(status, headers, endOfStream);
  }

  private responseHeadersStep(status: number, headers: HeadersInit | undefined, eos: boolean): FilterHeadersStatus {
    if (this.localReply) throw new Error("the stream was already answered with a local reply");
    this.responseHeaderMap = new HeaderMap([[":status", String(status)], ...headersToPairs(headers)]);
    this.upstreamStatus = status;
    this.responseCode = status;
    this.codeDetails = "via_upstream";
    if (this.upstreamAddress === undefined) this.setUpstream(undefined, this.attemptCount ?? 1);
    if (!this.created || this.failureReplySent || (this.host.failure && this.host.failurePolicy === "FAIL_OPEN")) {
      this.responseStarted = true;
      return "Continue";
    }
    this.respHeadersLive = true;
    const out = this.call("proxy_on_response_headers", [this.id, this.responseHeaderMap.size, eos ? 1 : 0]);
    const st = this.checkFail(out) ?? this.headersStatus(out);
    if (this.localReply || this.wasReset) return st;
    if (st === "Continue" || st === "ContinueAndEndStream") {
      this.respHeadersLive = false;
      this.responseStarted = true;
    }
    return st;
  }

  /** Deliver a response body chunk (encodeData). */
  responseBody(data: string | Uint8Array, endOfStream: boolean): FilterDataStatus {
    const chunk = asBytes(data);
    if (!this.created || this.failureReplySent || this.wasReset) return "Continue";
    this.respBody = chunk;
    const out = this.call("proxy_on_response_body", [this.id, chunk.length, endOfStream ? 1 : 0]);
    const st = this.checkFail(out) ? "StopIterationNoBuffer" : this.dataStatus(out);
    if (st === "Continue") this.respBody = null;
    return st;
  }

  /** Deliver response trailers (encodeTrailers). */
  responseTrailers(trailers: HeadersInit): FilterTrailersStatus {
    return this.responseTrailersStep(headersToPairs(trailers));
  }

  private responseTrailersStep(pairs: RawPair[]): FilterTrailersStatus {
    this.responseTrailerMap = new HeaderMap(pairs);
    if (!this.created || this.failureReplySent || this.wasReset) return "Continue";
    this.respTrailersLive = true;
    const out = this.call("proxy_on_response_trailers", [this.id, this.responseTrailerMap.size]);
    const st = this.checkFail(out) ? "StopIteration" : this.trailersStatus(out);
    if (st === "Continue") this.respTrailersLive = false;
    return st;
  }

  // ---------------------------------------------------------------- end of stream

  /**
   * The stream ends: Envoy's HCM runs the access log (proxy_on_log) and then
   * destroys the filter (proxy_on_done, proxy_on_delete), in that order (Envoy
   * source/common/http/conn_manager_impl.cc doDeferredStreamDestroy; the spec
   * lists on_done before on_log). A stream the filter never saw still gets
   * on_context_create from Envoy's log() before on_log.
   */
  complete(info: CompletionInfo = {}): void {
    if (this.completed) return;
    this.completed = true;
    if (info.responseCode !== undefined) this.responseCode = info.responseCode;
    if (info.codeDetails !== undefined) this.codeDetails = info.codeDetails;
    if (info.responseFlags !== undefined) this.responseFlags = info.responseFlags;
    if (info.grpcStatus !== undefined) this.grpcStatusOverride = info.grpcStatus;
    if (info.upstreamAddress !== undefined || info.attemptCount !== undefined) {
      this.setUpstream(info.upstreamAddress ?? this.upstreamAddress, info.attemptCount ?? this.attemptCount ?? 1);
    }
    this.durationNs = info.durationMs !== undefined ? BigInt(Math.round(info.durationMs * 1e6)) : this.host.clock.nowNs() - this.startNs;
    // Pointers Envoy drops once the callbacks are over.
    this.reqHeadersLive = this.reqTrailersLive = this.respHeadersLive = this.respTrailersLive = false;
    this.reqBody = this.respBody = null;
    if (!(this.host.failure && this.host.failurePolicy === "FAIL_OPEN")) {
      this.onCreate();
      this.inAccessLog = true;
      this.call("proxy_on_log", [this.id]);
      this.inAccessLog = false;
      if (this.created) {
        this.call("proxy_on_done", [this.id]);
        this.call("proxy_on_delete", [this.id]);
      }
    }
    // Request-scoped filter state goes away with the stream; connection-scoped stays.
    this.host.streamEnded(this);
  }

  /** Downstream reset before the stream finished: log, done, delete with response code 0. */
  reset(): void {
    if (this.completed) return;
    this.wasReset = true;
    this.complete({ responseCode: this.responseCode ?? 0 });
  }

  // ---------------------------------------------------------------- guest calls

  private onCreate(): void {
    if (this.created) return;
    // cpp-host ContextBase::onCreate: no call into a failed VM, but the flag is set.
    this.call("proxy_on_context_create", [this.id, this.root.id]);
    this.created = true;
  }

  private call(name: string, args: number[]): CallOutcome {
    if (!this.host.failure) this.calls.push(name); // a failed VM is not entered
    return this.host.callGuest(name, this, args);
  }

  /** cpp-host CHECK_FAIL_HTTP: a failed VM fails the stream (503 wasm_fail_stream) unless FAIL_OPEN. */
  private checkFail(out: CallOutcome): FilterHeadersStatus | undefined {
    if (!this.host.failure) return undefined;
    if (this.host.failurePolicy === "FAIL_OPEN") return "Continue";
    void out;
    this.failStream();
    return "StopAllIterationAndWatermark";
  }

  /** cpp-host convertVmCallResultToFilterHeadersStatus. */
  private headersStatus(out: CallOutcome): FilterHeadersStatus {
    if (out.missing) return "Continue";
    const v = out.value ?? 0;
    if (out.stopped || v < 0 || v > 4) return "StopAllIterationAndWatermark";
    // 0.2.x: StopIteration pauses the body too (cpp-host#143) unless allow_on_headers_stop_iteration.
    if (v === 1 && !this.host.allowOnHeadersStopIteration) return "StopAllIterationAndWatermark";
    return FilterHeadersStatus[v];
  }

  private dataStatus(out: CallOutcome): FilterDataStatus {
    if (out.missing) return "Continue";
    const v = out.value ?? 0;
    if (out.stopped || v < 0 || v > 3) return "StopIterationNoBuffer";
    return FilterDataStatus[v];
  }

  private trailersStatus(out: CallOutcome): FilterTrailersStatus {
    if (out.missing) return "Continue";
    const v = out.value ?? 0;
    if (out.stopped || v < 0 || v > 1) return "StopIteration";
    return FilterTrailersStatus[v];
  }

  // ---------------------------------------------------------------- local replies

  /** @internal proxy_send_local_response: deferred until the callback returns (Envoy context.cc sendLocalResponse). */
  queueLocalReply(frame: DeferredActions, code: number, body: Uint8Array, headers: Pair[], grpcStatus: number, details: string): void {
    const cleanDetails = details.replace(/[ \t\f\v\n\r]/g, "_");
    const grpc = grpcStatus >= 0 && grpcStatus <= 16 ? grpcStatus : undefined;
    frame.after.push(() => this.sendLocalReply(code, body, headers, grpc, cleanDetails, "filter"));
  }

  /** Envoy FilterManager::sendLocalReply, as far as this filter can observe it. */
  private sendLocalReply(code: number, body: Uint8Array, extra: Pair[], grpc: number | undefined, details: string, origin: LocalReply["origin"]): void {
    if (this.localReply || this.completed) return;
    if (this.responseStarted) {
      // (inferred) The response already went downstream: Envoy can only reset the stream.
      this.wasReset = true;
      this.responseCode = code;
      this.codeDetails = details;
      return;
    }
    const headers = new HeaderMap([[":status", String(code)]]);
    for (const [k, v] of extra) headers.add(k, v);
    let replyBody = body;
    const isGrpc = (this.requestHeaderMap.get("content-type") ?? "").startsWith("application/grpc");
    if (isGrpc) {
      // gRPC clients get a trailers-only 200 with grpc-status (Envoy Utility::sendLocalReply).
      headers.set(":status", "200");
      headers.set("content-type", "application/grpc");
      headers.set("grpc-status", String(grpc ?? httpToGrpcStatus(code)));
      if (body.length) headers.set("grpc-message", grpcPercentEncode(body));
      replyBody = EMPTY;
    } else if (replyBody.length) {
      headers.set("content-length", String(replyBody.length));
      if (!headers.has("content-type")) headers.set("content-type", "text/plain");
    }
    this.localReply = { status: code, body: fromUtf8(body), bodyBytes: body, headers, details, grpcStatus: grpc, origin };
    this.responseCode = code;
    this.codeDetails = details;
    this.grpcStatusOverride = isGrpc ? Number(headers.get("grpc-status")) : grpc;
    this.reqHeadersLive = this.reqTrailersLive = false;
    this.reqBody = null;
    this.decoderStoppedAt = null;
    const inEncodeHeaders = this.respHeadersLive;
    this.responseHeaderMap = headers;
    this.responseTrailerMap = undefined;
    // A reply replacing an upstream response that the filter is holding goes straight
    // to the codec (inferred: FilterManager sendDirectLocalReply); otherwise it runs
    // through the encoder filters, this one included, unless it is the failure reply.
    if (inEncodeHeaders || origin === "wasm_fail_stream" || !this.created || this.host.failure) {
      this.respHeadersLive = false;
      this.responseStarted = true;
      return;
    }
    this.respHeadersLive = true;
    const out = this.call("proxy_on_response_headers", [this.id, headers.size, replyBody.length === 0 ? 1 : 0]);
    if (this.checkFail(out) === undefined) {
      this.respHeadersLive = false;
      if (replyBody.length) {
        this.respBody = replyBody;
        const o2 = this.call("proxy_on_response_body", [this.id, replyBody.length, 1]);
        this.checkFail(o2);
        this.respBody = null;
      }
    }
    this.responseStarted = true;
  }

  /** Envoy context.cc failStream: 503, no body, gRPC UNAVAILABLE, details wasm_fail_stream; once. */
  private failStream(): void {
    if (this.failureReplySent) return;
    this.failureReplySent = true;
    if (this.localReply) return;
    this.sendLocalReply(503, EMPTY, [], GrpcStatus.Unavailable, "wasm_fail_stream", "wasm_fail_stream");
  }

  // ---------------------------------------------------------------- host-function hooks (internal)

  /** @internal Envoy context.cc getMap (mutable) / getConstMap. */
  headerMap(type: number, mutable: boolean): HeaderMap | null {
    switch (type) {
      case MapType.RequestHeaders:
        if (this.reqHeadersLive) return this.requestHeaderMap;
        return this.inAccessLog && !mutable ? this.requestHeaderMap : null;
      case MapType.RequestTrailers:
        return this.reqTrailersLive ? (this.requestTrailerMap ?? null) : null;
      case MapType.ResponseHeaders:
        if (this.respHeadersLive) return this.responseHeaderMap ?? null;
        return this.inAccessLog && !mutable ? (this.responseHeaderMap ?? null) : null;
      case MapType.ResponseTrailers:
        if (this.respTrailersLive) return this.responseTrailerMap ?? null;
        return this.inAccessLog && !mutable ? (this.responseTrailerMap ?? null) : null;
      default:
        return null;
    }
  }

  /** @internal Envoy context.h onHeadersModified: request-header edits clear the route cache (ABI <= 0.2.1). */
  onHeadersModified(type: number): void {
    if (type === MapType.RequestHeaders) this.routeCacheCleared++;
  }

  /** @internal */
  bodyBuffer(type: number): Uint8Array {
    return (type === BufferType.HttpRequestBody ? this.reqBody : this.respBody) ?? EMPTY;
  }

  /** @internal proxy_set_buffer_bytes on a body (Envoy context.cc Buffer::copyFrom). */
  setBody(type: number, start: number, length: number, data: Uint8Array): number {
    if (type !== BufferType.HttpRequestBody && type !== BufferType.HttpResponseBody) return WasmResult.BadArgument;
    const cur = type === BufferType.HttpRequestBody ? this.reqBody : this.respBody;
    if (cur === null) return WasmResult.BadArgument;
    let next: Uint8Array;
    if (start === 0) {
      if (length === 0) next = concat(data, cur);
      else if (length >= cur.length) next = data.slice();
      else return WasmResult.BadArgument;
    } else if (start >= cur.length) next = concat(cur, data);
    else return WasmResult.BadArgument;
    if (type === BufferType.HttpRequestBody) this.reqBody = next;
    else this.respBody = next;
    return WasmResult.Ok;
  }

  /** @internal proxy_continue_stream (Envoy context.cc continueStream). */
  continueStream(type: number, frame: DeferredActions): number {
    switch (type) {
      case StreamType.Request:
        // The pointers are dropped right away; continueDecoding runs after the callback.
        this.reqHeadersLive = this.reqTrailersLive = false;
        this.reqBody = null;
        frame.after.push(() => this.continueDecoding());
        return WasmResult.Ok;
      case StreamType.Response:
        frame.after.push(() => {
          this.respHeadersLive = false;
          this.responseStarted = true;
        });
        this.reqHeadersLive = this.reqTrailersLive = false;
        this.reqBody = null;
        return WasmResult.Ok;
      case StreamType.Downstream:
        return WasmResult.Ok;
      default:
        return WasmResult.Unimplemented;
    }
  }

  /** @internal proxy_close_stream: resets the stream after the callback (details wasm_close_stream). */
  closeStream(type: number, frame: DeferredActions): number {
    if (type === StreamType.Request || type === StreamType.Response) {
      if (this.codeDetails === undefined) this.codeDetails = "wasm_close_stream";
      frame.after.push(() => {
        this.wasReset = true;
      });
    }
    return WasmResult.Ok;
  }

  /** @internal Filter state write (CelState from set_property, or an object from set_envoy_filter_state). */
  setFilterState(key: string, value: Uint8Array, span: number): void {
    if (span === 2) {
      let m = this.host.connectionFilterState.get(this.connectionId);
      if (!m) this.host.connectionFilterState.set(this.connectionId, (m = new Map()));
      m.set(key, value.slice());
      return;
    }
    this.filterStateMap.set(key, { value: value.slice(), span });
  }

  // ---------------------------------------------------------------- properties

  /** @internal Envoy's attribute tree for this stream (properties.ts streamProperty). */
  property(segments: string[]): PropertyValue | undefined {
    const r = this.request;
    return streamProperty(
      {
        source: r.source ?? "127.0.0.1:50000",
        destination: r.destination ?? "127.0.0.1:10000",
        protocol: r.protocol ?? "HTTP/1.1",
        mtls: r.mtls ?? false,
        requestedServerName: r.requestedServerName ?? "",
        tlsVersion: r.tlsVersion,
        peerSubject: r.peerSubject ?? "",
        connectionId: this.connectionId,
        requestHeaders: this.requestHeaderMap,
        responseHeaders: this.responseHeaderMap,
        responseTrailers: this.responseTrailerMap,
        startNs: this.startNs,
        durationNs: this.durationNs,
        responseCode: this.responseCode,
        codeDetails: this.codeDetails,
        responseFlags: this.responseFlags,
        grpcStatusOverride: this.grpcStatusOverride,
        upstreamAddress: this.upstreamAddress,
        attemptCount: this.attemptCount,
        forwardedBodyBytes: this.forwardedBody.length,
        responseBodyBytes: this.completed ? (this.localReply ? this.localReply.bodyBytes.length : 0) : undefined,
        celState: (name) => this.filterStateMap.get(`wasm.${name}`)?.value,
        pluginProperty: (name) => this.host.pluginProperty(name),
      },
      segments,
    );
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
