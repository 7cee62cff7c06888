// RDS: one catch-all route whose cluster is the header the filter sets.
import { CLUSTER_HEADER } from "../apisix/index.ts";
import { TYPE_URL } from "../protos.ts";
import type { Json } from "../snapshot.ts";
import type { Resolved } from "./options.ts";

export function routeConfiguration(o: Resolved): Json {
  return {
    "@type": TYPE_URL.route,
    name: o.routeConfigName,
    virtual_hosts: [
      {
        name: "apisix",
        domains: ["*"],
        routes: [
          {
            name: "apisix-upstream",
            match: { prefix: "/" },
            route: {
              cluster_header: CLUSTER_HEADER,
              // Only reached when the filter named a cluster CDS doesn't
              // have (yet): a transient "service unavailable", like APISIX's
              // 503s for upstreams it can't use. The filter answers APISIX's
              // own 404/502/503 cases itself.
              cluster_not_found_response_code: "SERVICE_UNAVAILABLE",
              // No overall deadline: gRPC streams and websockets live long.
              // The per-upstream read timeout arrives per request via
              // x-envoy-upstream-rq-timeout-ms set by the filter.
              timeout: "0s",
            },
            // The upstream need not see the internal routing header. Removal
            // happens when the router builds the upstream request, after the
            // cluster was chosen; retries reuse that cluster.
            request_headers_to_remove: [CLUSTER_HEADER],
          },
        ],
      },
    ],
  };
}
