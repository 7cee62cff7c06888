// Entry point of the filter: the proxy-wasm exports and the root context.
//
// Envoy creates a root context per plugin configuration (root id
// "apisix-upstream") and calls proxy_on_configure with the configuration
// JSON; each HTTP stream then gets an UpstreamFilter.
// Root-context callbacks and the host's allocator come from the SDK; the
// stream callbacks from streams.ts (no per-stream SDK bookkeeping).
// Envoy looks each callback up once and skips one the module does not
// export, so only what the filter uses is exported: no SDK handlers for HTTP
// and gRPC call responses, shared queues or foreign functions (the filter
// starts none), and no stream callbacks that would only answer Continue
// (bodies, trailers, metadata, the response head) or true (proxy_on_done,
// for streams and for the root, which has nothing to finish). Each one
// Envoy does not enter saves it a call into V8 per request.
export {
  proxy_abi_version_0_2_1, proxy_on_vm_start, proxy_validate_configuration, proxy_on_configure, proxy_on_tick,
} from "@solo-io/proxy-runtime/assembly/exports";
export { free } from "@solo-io/proxy-runtime/assembly/malloc";
export { malloc } from "./envoy";
export { proxy_on_context_create, proxy_on_request_headers, proxy_on_log, proxy_on_delete } from "./streams";
import { setMetricsSource } from "./streams";
import { registerRootContext, Context, log, LogLevelValues, WasmResultValues } from "@solo-io/proxy-runtime/assembly";
import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { free } from "@solo-io/proxy-runtime/assembly/malloc";
import { Config, parseConfig } from "./config/config";
import { ConfigHolder, UpstreamFilter } from "./filter";
import { vm } from "./vm";
import { FLUSH_PERIOD_MS, Metrics } from "./metrics";
import { seedRandom } from "./balancer/random";
import { nowNanos, refreshLogLevel } from "./envoy";
import "./balancer/registry";
import { pruneBalancers } from "./balancer/pick";
import { collectNow } from "./gc";

const PLUGIN_CONFIGURATION = 7;

function getMetrics(): Metrics { return vm.metrics; }

function readPluginConfiguration(size: u32): Uint8Array | null {
  if (size == 0) return new Uint8Array(0);
  const ptr = memory.data(8);
  const len = memory.data(8);
  store<usize>(ptr, 0); store<usize>(len, 0);
  if (imports.proxy_get_buffer_bytes(PLUGIN_CONFIGURATION, 0, size, ptr, len) != WasmResultValues.Ok) return null;
  const p = load<usize>(ptr);
  if (p == 0) return new Uint8Array(0);
  const buf = changetype<ArrayBuffer>(p);
  free(p);
  return Uint8Array.wrap(buf);
}

class ApisixUpstreamRoot extends ConfigHolder {
  private config: Config | null = null;

  current(): Config | null { return this.config; }

  onStart(_vmConfigSize: usize): bool {
    seedRandom(nowNanos() ^ (<u64>this.context_id << 32));
    return true;
  }

  // Stats are counted in guest memory per request and handed to Envoy here;
  // the log level is re-read here too (cached for requests).
  onTick(): void {
    refreshLogLevel();
    getMetrics().flush();
  }

  // Accepts or rejects the whole document; on rejection the previous config
  // (if any) keeps serving and Envoy NACKs the update.
  onConfigure(size: u32): bool {
    refreshLogLevel();
    // The tick also refreshes the cached log level, so it runs from the first configure on.
    imports.proxy_set_tick_period_milliseconds(FLUSH_PERIOD_MS);
    const bytes = readPluginConfiguration(size);
    if (bytes === null) {
      log(LogLevelValues.error, "invalid configuration: cannot read the plugin configuration");
      getMetrics().configured(false, 0);
      collectNow();
      return false;
    }
    const res = parseConfig(bytes);
    const issues = res.issues;
    for (let i = 0; i < issues.warnings.length; i++) log(LogLevelValues.warn, "configuration: " + issues.warnings[i]);
    const cfg = res.config;
    if (cfg === null) {
      for (let i = 0; i < issues.errors.length; i++) log(LogLevelValues.error, "invalid configuration: " + issues.errors[i]);
      log(LogLevelValues.error, "configuration rejected (" + issues.count.toString() + " error(s)); " +
        (this.config !== null || vm.accepted ? "the previous configuration keeps serving" : "no configuration is active"));
      // The verdict per object, for the control plane (envoy/control-plane/
      // validate.ts), which drops these objects and applies the rest as
      // APISIX does; "document" when an error is outside every object.
      log(LogLevelValues.warn, "invalid objects: " + (issues.documentErrors > 0 ? "document " : "") + issues.objects.join(" "));
      getMetrics().configured(false, 0);
      // The parsed document is garbage now; nothing below uses it.
      collectNow();
      return false;
    }
    this.config = cfg;
    vm.accepted = true;
    imports.proxy_set_tick_period_milliseconds(FLUSH_PERIOD_MS);
    vm.health.setActive(cfg.unhealthy);
    const live = cfg.clusters();
    pruneBalancers(live);
    vm.health.prune(live);
    getMetrics().configured(true, cfg.routes.length);
    log(LogLevelValues.info, "configuration accepted: " + cfg.routes.length.toString() + " routes, " +
      cfg.upstreams.size.toString() + " upstreams, " + cfg.ssls.size.toString() + " ssls, " + cfg.services.size.toString() + " services");
    // The document and the previous config are garbage now; nothing below uses them.
    collectNow();
    return true;
  }

  createContext(context_id: u32): Context {
    return new UpstreamFilter(context_id, this, getMetrics());
  }
}

setMetricsSource(getMetrics);
registerRootContext((id: u32) => { return new ApisixUpstreamRoot(id); }, "apisix-upstream");
