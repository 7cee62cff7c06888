// A local reply to a gRPC request, as real Envoy 1.40 sends it (observed in
// tests/e2e/protocols.test.ts): HTTP 200, trailers-only, grpc-status from the
// HTTP status, and the body as grpc-message with only non-printable bytes and
// "%" escaped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { grpcPercentEncode } from "../../host/local-reply.ts";
import { filterHost, get } from "../filter/helpers.ts";

test("grpc-message escapes CR, LF, non-ASCII and % only", () => {
  assert.equal(grpcPercentEncode(new TextEncoder().encode("<h1>502 Bad Gateway</h1>\r\n100% é")), "<h1>502 Bad Gateway</h1>%0D%0A100%25 %C3%A9");
});

test("the filter's 502 to a gRPC client: 200, grpc-status 14, the nginx page as grpc-message", async () => {
  const host = await filterHost({ routes: [{ id: "g", uri: "/gone.Svc/*", upstream_id: "missing" }] });
  const plain = get(host, "/gone.Svc/Echo");
  assert.equal(plain.status, 502);
  const g = get(host, "/gone.Svc/Echo", { method: "POST", headers: { "content-type": "application/grpc", te: "trailers" } });
  assert.equal(g.status, 200);
  assert.equal(g.responseHeader("grpc-status"), "14");
  assert.equal(g.responseHeader("grpc-message"), plain.localReply!.body.replace(/\r/g, "%0D").replace(/\n/g, "%0A"));
  assert.match(g.responseHeader("grpc-message")!, /<title>502 Bad Gateway<\/title>/);
});
