// What the control plane and the CLI both read of APISIX documents: the
// sections and their YAML, upstream nodes, the one walk over every upstream
// object, the cluster names, and the names the filter steers Envoy by.
//
// It lives under envoy/control-plane/ because the control plane is the
// owner of these facts (it names the clusters and ships them to the filter)
// and the CLI already depends on the control plane (validate.ts, dns.ts);
// a top-level shared/ would suggest a third party the control plane serves.
// Nothing here touches Envoy, the network or the filter .wasm.
export * from "./document.ts";
export * from "./nodes.ts";
export * from "./sites.ts";
export * from "./steering.ts";
