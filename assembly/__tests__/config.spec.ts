import { Config, parseConfig } from "../config/config";

function errors(json: string): string {
  const res = parseConfig(Uint8Array.wrap(String.UTF8.encode(json)));
  return res.issues.errors.join(" | ");
}

const cases: Array<string[]> = [
  ['{"upstreams":[{"id":"u1","nodes":{"127.0.0.1:80":-100}}]}', 'upstreams[u1].nodes["127.0.0.1:80"]: expected -100 to be at least 0'],
  ['{"upstreams":[{"id":"u1","nodes":{"127.0.0.1:80":"1"}}]}', 'upstreams[u1].nodes["127.0.0.1:80"]: expected an integer weight, got "1"'],
  ['{"upstreams":[{"id":"u1","nodes":{"::1:80":1}}]}', 'upstreams[u1].nodes["::1:80"]: IPv6 address must be enclosed with \'[\' and \']\''],
  ['{"upstreams":[{"id":"u1","nodes":{"a:70000":1}}]}', 'upstreams[u1].nodes["a:70000"]: invalid port 70000'],
  ['{"upstreams":[{"id":"u1","retries":-1,"nodes":{"a:1":1}}]}', 'upstreams[u1].retries: expected -1 to be at least 0'],
  ['{"upstreams":[{"id":"u1","timeout":{"connect":0,"send":1,"read":1},"nodes":{"a:1":1}}]}', 'upstreams[u1].timeout.connect: expected 0 to be greater than 0'],
  ['{"upstreams":[{"id":"u1","type":"chash","nodes":{"a:1":1}}]}', 'upstreams[u1].key: missing key (required for type chash unless hash_on is consumer)'],
  ['{"upstreams":[{"id":"u1","type":"chash","hash_on":"header","key":"$#^@","nodes":{"a:1":1}}]}', 'upstreams[u1].key: failed to match pattern "^[a-zA-Z0-9-_]+$" with "$#^@"'],
  ['{"upstreams":[{"id":"u1","hash_on":"body","nodes":{"a:1":1}}]}', 'upstreams[u1].hash_on: "body" matches none of the enum values [vars, header, cookie, consumer, vars_combinations]'],
  ['{"upstreams":[{"id":"u1","scheme":"kafka","nodes":{"a:1":1}}]}', 'upstreams[u1].scheme: "kafka" (APISIX pubsub) is not supported by this filter (use http, https, grpc or grpcs)'],
  ['{"upstreams":[{"id":"u1","pass_host":"rewrite","nodes":{"a:1":1}}]}', 'upstreams[u1].upstream_host: `upstream_host` can\'t be empty when `pass_host` is `rewrite`'],
  ['{"upstreams":[{"id":"u1","nodes":{"a:1":1},"colour":"red"}]}', 'upstreams[u1].colour: unknown field (not in APISIX\'s schema)'],
  ['{"routes":[{"id":"r1","upstream_id":"u1"}]}', 'routes[r1]: exactly one of uri or uris is required'],
  ['{"routes":[{"id":"r1","uri":"/"}]}', 'routes[r1]: one of upstream, upstream_id, service_id or plugins is required'],
  ['{"routes":[{"id":"r1","uri":"/","host":"a.com","hosts":["b.com"],"upstream_id":"1"}]}', 'routes[r1]: only one of host or hosts is allowed'],
  ['{"routes":[{"id":"r1","uri":"/","methods":["FETCH"],"upstream_id":"1"}]}', 'routes[r1].methods[0]: "FETCH" matches none of the enum values [GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, CONNECT, TRACE, PURGE]'],
  ['{"routes":[{"id":"r1","uri":"/","vars":[["arg_x","=~","1"]],"upstream_id":"1"}]}', 'routes[r1].vars[0][1]: unknown operator "=~" (supported: == ~= > < >= <= in IN has ~~ ~* ipmatch)'],
  ['{"routes":[{"id":"r1","uri":"/","vars":[["arg_x","~~","(a"]],"upstream_id":"1"}]}', 'routes[r1].vars[0]: invalid regex "(a": missing closing parenthesis at offset 0'],
  ['{"routes":[{"id":"r1","uri":"/","upstream":{"nodes":{"a:1":1},"type":"fastest"}}]}', 'routes[r1].upstream.type: unknown balancer "fastest" (supported: roundrobin, chash, ewma, least_conn)'],
  ['{"routes":[{"id":"a b","uri":"/","upstream_id":"1"}]}', 'routes[0].id: id "a b" has characters outside [a-zA-Z0-9-_.]'],
  ['{"routes":[{"id":"r1","uri":"/","upstream_id":"1"},{"id":"r1","uri":"/x","upstream_id":"1"}]}', 'routes[r1].id: duplicate id'],
  ['{"ssls":[{"id":"s1","type":"client","cert":"x"}]}', 'ssls[s1].cert: expected a PEM certificate (at least 128 characters) | ssls[s1].key: is required for a client certificate'],
  ['{"routes":{}}', 'routes: expected an array, got object'],
  ['[1]', 'configuration: expected a JSON object {routes, upstreams, ssls}, got array'],
  ['{"routes":[', 'configuration: invalid JSON: unexpected end of input at byte 11'],
];

describe("config validation names the object and field", () => {
  it("accepts a minimal valid document", () => {
    expect(errors('{"routes":[{"id":"r1","uri":"/*","upstream_id":"u1"}],"upstreams":[{"id":"u1","nodes":{"127.0.0.1:80":1}}]}')).toBe("");
  });
  it("rejects APISIX-invalid documents with field-named errors", () => {
    for (let i = 0; i < cases.length; i++) {
      expect(errors(cases[i][0])).toBe(cases[i][1], cases[i][0]);
    }
  });
});

describe("the clusters a config can proxy to", () => {
  it("are those of every upstream read, except a disabled route's", () => {
    const res = parseConfig(Uint8Array.wrap(String.UTF8.encode(
      '{"upstreams":[{"id":"u1","_cluster":"c-u1","nodes":{"a:1":1}},{"id":"u2","_cluster":"c-u1","nodes":{"a:1":1}}],' +
      '"services":[{"id":"s1","upstream":{"_cluster":"c-s1","nodes":{"a:1":1}}}],' +
      '"routes":[{"id":"r1","uri":"/a","upstream":{"_cluster":"c-r1","nodes":{"a:1":1}},' +
      '"plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream":{"_cluster":"c-ts","nodes":{"a:1":1}}},{"weight":1}]}]}}},' +
      '{"id":"r2","uri":"/b","status":0,"upstream":{"_cluster":"c-off","nodes":{"a:1":1}},' +
      '"plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream":{"_cluster":"c-off-ts","nodes":{"a:1":1}}}]}]}}},' +
      '{"id":"r3","uri":"/c","upstream":{"nodes":{"a:1":1}}}]}')));
    expect(res.issues.errors.join(" | ")).toBe("");
    const live = changetype<Config>(res.config).clusters().keys();
    live.sort();
    expect(live.join(",")).toBe("c-r1,c-s1,c-ts,c-u1,routes[r3].upstream");
  });
});
