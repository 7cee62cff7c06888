// The baseline for `npm run bench`: a proxy-wasm HTTP filter that does nothing,
// built with the same toolchain and runtime as the real filter, so the ratio
// between the two isolates the cost of routing and balancing.
export * from "@solo-io/proxy-runtime/assembly/proxy";
import { RootContext, Context, registerRootContext, FilterHeadersStatusValues } from "@solo-io/proxy-runtime/assembly";

class NoopRoot extends RootContext {
  createContext(context_id: u32): Context {
    return new Noop(context_id, this);
  }
}

class Noop extends Context {
  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => { return new NoopRoot(context_id); }, "noop");
