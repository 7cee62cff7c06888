// Entry point of the filter: the proxy-wasm exports and the root context.
export * from "@solo-io/proxy-runtime/assembly/proxy";
import { registerRootContext, RootContext, Context } from "@solo-io/proxy-runtime/assembly";

class ApisixUpstreamRoot extends RootContext {
  createContext(context_id: u32): Context {
    return new Context(context_id, this);
  }
}
registerRootContext((id: u32) => { return new ApisixUpstreamRoot(id); }, "apisix-upstream");
