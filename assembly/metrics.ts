// Counters Envoy exports as stats (proxy-wasm metrics; Envoy prefixes
// wasm-defined metrics with "wasmcustom."). Defined once per VM.

import * as imports from "@solo-io/proxy-runtime/assembly/imports";

const COUNTER = 0;
const GAUGE = 1;

function define(type: i32, name: string): u32 {
  const n = String.UTF8.encode(name);
  const out = memory.data(4);
  store<u32>(out, 0xffffffff);
  if (imports.proxy_define_metric(type, changetype<usize>(n), n.byteLength, out) != 0) return 0xffffffff;
  return load<u32>(out);
}

function inc(id: u32, by: i64 = 1): void {
  if (id != 0xffffffff) imports.proxy_increment_metric(id, by);
}

export class Metrics {
  private proxiedId: u32;
  private reply404: u32;
  private reply500: u32;
  private reply502: u32;
  private reply503: u32;
  private replyOther: u32;
  private configAccepted: u32;
  private configRejected: u32;
  private routesGauge: u32;

  constructor() {
    this.proxiedId = define(COUNTER, "apisix_upstream.requests_proxied");
    this.reply404 = define(COUNTER, "apisix_upstream.local_reply_404");
    this.reply500 = define(COUNTER, "apisix_upstream.local_reply_500");
    this.reply502 = define(COUNTER, "apisix_upstream.local_reply_502");
    this.reply503 = define(COUNTER, "apisix_upstream.local_reply_503");
    this.replyOther = define(COUNTER, "apisix_upstream.local_reply_other");
    this.configAccepted = define(COUNTER, "apisix_upstream.config_accepted");
    this.configRejected = define(COUNTER, "apisix_upstream.config_rejected");
    this.routesGauge = define(GAUGE, "apisix_upstream.routes");
  }

  proxied(): void { inc(this.proxiedId); }

  localReply(code: u32): void {
    if (code == 404) inc(this.reply404);
    else if (code == 500) inc(this.reply500);
    else if (code == 502) inc(this.reply502);
    else if (code == 503) inc(this.reply503);
    else inc(this.replyOther);
  }

  configured(ok: bool, routes: i32): void {
    inc(ok ? this.configAccepted : this.configRejected);
    if (ok && this.routesGauge != 0xffffffff) imports.proxy_record_metric(this.routesGauge, <u64>routes);
  }
}
