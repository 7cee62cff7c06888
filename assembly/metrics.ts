// Counters Envoy exports as stats (proxy-wasm metrics; Envoy prefixes
// wasm-defined metrics with "wasmcustom.").
//
// Requests only touch guest memory: each counter keeps a pending delta, and
// the root context's tick (and every configure) flushes the deltas with one
// proxy_increment_metric per counter that moved. A request therefore costs no
// host call for stats, and a counter is defined in Envoy (by name) only the
// first time it moves.
//
// Per-route counters carry their labels in the name, Istio-style
// ("route=.=api;.;upstream=.=upstream.u1;.;apisix_requests_total"); the
// bootstrap's stats_tags turn those segments into tags, so /stats/prometheus
// shows apisix_requests_total{route="api",upstream="upstream.u1"}. APISIX ids
// are [a-zA-Z0-9-_.]+, so they cannot contain the ";.;" delimiter.

import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { Route } from "./config/route";

const COUNTER = 0;
const GAUGE = 1;
const NONE: u32 = 0xffffffff;

// How often the root context flushes pending deltas into Envoy's stats.
export const FLUSH_PERIOD_MS: u32 = 1000;

const MAX_NAMES = 4096;

export const REQUESTS_METRIC = "apisix_requests_total";
export const REPLIES_METRIC = "apisix_local_replies_total";

function define(type: i32, name: string): u32 {
  const n = String.UTF8.encode(name);
  const out = memory.data(4);
  store<u32>(out, NONE);
  if (imports.proxy_define_metric(type, changetype<usize>(n), n.byteLength, out) != 0) return NONE;
  return load<u32>(out);
}

class Counter {
  id: u32 = NONE;
  pending: u64 = 0;
  defined: bool = false;
  constructor(public name: string) {}
}

// Every counter that has a pending delta, so a flush visits only those.
const dirty = new Array<Counter>();
// One Counter per metric name for the life of the VM: a route that comes
// back after a reload keeps counting into the same Envoy stat id.
const byName = new Map<string, Counter>();

function counter(name: string): Counter {
  if (byName.has(name)) return byName.get(name);
  const c = new Counter(name);
  byName.set(name, c);
  return c;
}

function bump(c: Counter): void {
  if (c.pending == 0) dirty.push(c);
  c.pending++;
}

function tag(name: string, value: string): string {
  return name + "=.=" + value + ";.;";
}

// The counters one route uses, found by object identity and then by a short
// scan (a route has one upstream, or a few with traffic-split).
class RouteCounters {
  clusters: Array<string> = new Array<string>();
  proxied: Array<Counter> = new Array<Counter>();
  codes: Array<u32> = new Array<u32>();
  replies: Array<Counter> = new Array<Counter>();
  constructor(public routeId: string) {}

  forCluster(cluster: string): Counter {
    for (let i = 0; i < this.clusters.length; i++) if (this.clusters[i] == cluster) return this.proxied[i];
    const c = counter(tag("route", this.routeId) + tag("upstream", cluster) + REQUESTS_METRIC);
    this.clusters.push(cluster);
    this.proxied.push(c);
    return c;
  }

  forCode(code: u32): Counter {
    for (let i = 0; i < this.codes.length; i++) if (this.codes[i] == code) return this.replies[i];
    const c = counter(tag("code", code.toString()) + tag("route", this.routeId) + REPLIES_METRIC);
    this.codes.push(code);
    this.replies.push(c);
    return c;
  }
}

export class Metrics {
  private proxiedAll: Counter = counter("apisix_upstream.requests_proxied");
  private reply404: Counter = counter("apisix_upstream.local_reply_404");
  private reply500: Counter = counter("apisix_upstream.local_reply_500");
  private reply502: Counter = counter("apisix_upstream.local_reply_502");
  private reply503: Counter = counter("apisix_upstream.local_reply_503");
  private replyOther: Counter = counter("apisix_upstream.local_reply_other");
  private configAccepted: Counter = counter("apisix_upstream.config_accepted");
  private configRejected: Counter = counter("apisix_upstream.config_rejected");
  private routesGauge: u32 = NONE;
  // Keyed by the Route object of the current config; cleared on every
  // accepted configure so old Route objects are not kept alive.
  private perRoute: Map<Route, RouteCounters> = new Map<Route, RouteCounters>();
  // Local replies before a route matched (404 route not found).
  private noRoute: RouteCounters = new RouteCounters("");

  constructor() {
    // Defined up front so the aggregate counters show as 0 in /stats before
    // the first request, as they always did.
    const fixed: Array<Counter> = [this.proxiedAll, this.reply404, this.reply500, this.reply502, this.reply503,
      this.replyOther, this.configAccepted, this.configRejected];
    for (let i = 0; i < fixed.length; i++) { fixed[i].id = define(COUNTER, fixed[i].name); fixed[i].defined = true; }
    this.routesGauge = define(GAUGE, "apisix_upstream.routes");
  }

  private routeCounters(route: Route | null): RouteCounters {
    if (route === null) return this.noRoute;
    const r = route;
    if (this.perRoute.has(r)) return this.perRoute.get(r);
    const rc = new RouteCounters(r.id);
    this.perRoute.set(r, rc);
    return rc;
  }

  proxied(route: Route, cluster: string): void {
    bump(this.proxiedAll);
    bump(this.routeCounters(route).forCluster(cluster));
  }

  localReply(code: u32, route: Route | null): void {
    if (code == 404) bump(this.reply404);
    else if (code == 500) bump(this.reply500);
    else if (code == 502) bump(this.reply502);
    else if (code == 503) bump(this.reply503);
    else bump(this.replyOther);
    bump(this.routeCounters(route).forCode(code));
  }

  configured(ok: bool, routes: i32): void {
    // What counted against the old Route objects goes out before they are dropped.
    this.flush();
    if (ok) {
      this.perRoute.clear();
      // Route ids and cluster names churn with configs; bound what the VM
      // remembers (a dropped name is simply defined again when it moves).
      if (byName.size > MAX_NAMES) byName.clear();
      if (this.routesGauge != NONE) imports.proxy_record_metric(this.routesGauge, <u64>routes);
    }
    const c = ok ? this.configAccepted : this.configRejected;
    if (c.id != NONE) imports.proxy_increment_metric(c.id, 1);
  }

  // Hands every pending delta to Envoy. Called from the root context (tick,
  // configure), never per request.
  flush(): void {
    for (let i = 0; i < dirty.length; i++) {
      const c = unchecked(dirty[i]);
      if (!c.defined) { c.id = define(COUNTER, c.name); c.defined = true; }
      if (c.id != NONE && c.pending > 0) imports.proxy_increment_metric(c.id, <i64>c.pending);
      c.pending = 0;
    }
    dirty.length = 0;
  }
}
