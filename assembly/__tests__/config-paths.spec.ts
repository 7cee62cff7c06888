// Error and warning paths are built only when an issue is reported (Issues
// enter/named, relative paths inside an object): these pin the texts and the
// per-object verdicts that the control plane reads, in the corners where a
// path is composed of several parts.
import { parseConfig } from "../config/config";
import { text } from "../config/text";
import { formatAddress, splitHostPort } from "../net";

function run(json: string): string {
  const res = parseConfig(Uint8Array.wrap(String.UTF8.encode(json)));
  const i = res.issues;
  const objects = i.objects.slice(0);
  if (i.documentErrors > 0) objects.unshift("document");
  return or(i.errors.join(" | ")) + " # " + or(i.warnings.join(" | ")) + " # " + or(objects.join(" "));
}

function or(s: string): string {
  return s.length ? s : "-";
}

const U = '{"id":"u1","nodes":{"10.0.0.1:80":1}}';

const cases: Array<string[]> = [
  // Named by position until the id is read, by id from then on.
  ['{"routes":[{"uri":"/","upstream_id":"u1"}]}', 'routes[0].id: is required # - # routes/0'],
  ['{"routes":[{"id":0,"uri":"/","upstream_id":"u1"}]}', 'routes[0].id: expected an integer id >= 1, got 0 # - # routes/0'],
  ['{"upstreams":[' + U + ',3]}', 'upstreams[1]: expected an upstream object # - # upstreams/1'],
  ['{"upstreams":[' + U + ',{"nodes":{"a:1":1}}]}', 'upstreams[1].id: is required # - # upstreams/1'],
  ['{"upstreams":[' + U + ',' + U + ']}', 'upstreams[u1].id: duplicate id # - # upstreams/1'],
  ['{"services":[{"id":"s1","hosts":[1]},{"id":"s2"},{"id":"s2"}]}', 'services[s1].hosts[0]: invalid host 1 | services[s2].id: duplicate id # - # services/0 services/2'],
  // Several errors in one object: the object is listed once.
  ['{"routes":[{"id":"r1","uri":"","hosts":["a b"],"upstream_id":"u1"}]}', 'routes[r1].uri: uri length must be 1-4096 | routes[r1].hosts[0]: invalid host "a b" # - # routes/0'],
  ['{"routes":[{"id":"r1","uri":"/a","uris":["/b","/a"],"upstream_id":"u1"}]}', 'routes[r1]: exactly one of uri or uris is required | routes[r1].uris[1]: duplicate uri "/a" # - # routes/0'],
  ['{"routes":[{"id":"r1","uris":["/b",""],"upstream_id":"u1"}]}', 'routes[r1].uris[1]: uri length must be 1-4096 # - # routes/0'],
  ['{"routes":[{"id":"r1","uri":"/","remote_addrs":["1.2.3.4","x"],"upstream_id":"u1"}]}', 'routes[r1].remote_addrs[1]: expected an IPv4/IPv6 address or CIDR, got "x" # - # routes/0'],
  ['{"routes":[{"id":"r1","uri":"/","remote_addr":"y","remote_addrs":"x","upstream_id":"u1"}]}', 'routes[r1]: only one of remote_addr or remote_addrs is allowed | routes[r1].remote_addrs: expected a non-empty array of IPs or CIDRs | routes[r1].remote_addr: expected an IPv4/IPv6 address or CIDR, got "y" # - # routes/0'],
  ['{"routes":[{"id":"r1","uri":"/","remote_addr":"1.2.3.4","remote_addrs":["x"],"upstream_id":"u1"}]}', 'routes[r1]: only one of remote_addr or remote_addrs is allowed | routes[r1].remote_addr: expected an IPv4/IPv6 address or CIDR, got "x" # - # routes/0'],
  // Inline upstreams, nested deep.
  ['{"routes":[{"id":"r1","uri":"/","upstream":{"nodes":{"a:1":-1}}}]}', 'routes[r1].upstream.nodes["a:1"]: expected -1 to be at least 0 # - # routes/0'],
  ['{"routes":[{"id":"r1","uri":"/","upstream":{"nodes":[{"host":"a","port":0,"weight":1}]}}]}', 'routes[r1].upstream.nodes[0].port: expected 0 to be at least 1 # - # routes/0'],
  ['{"routes":[{"id":"r1","uri":"/","upstream":{"id":"u 1","nodes":{"a:1":1}}}]}', 'routes[r1].upstream.id: id "u 1" has characters outside [a-zA-Z0-9-_.] # - # routes/0'],
  ['{"routes":[{"id":"r1","uri":"/","upstream":{}}]}', 'routes[r1].upstream.nodes: is required # - # routes/0'],
  ['{"routes":[{"id":"r1","uri":"/","upstream_id":"u1","plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream":{"nodes":{"a":"1"}}}]}]}}}]}',
    'routes[r1].plugins.traffic-split.rules[0].weighted_upstreams[0].upstream.nodes["a"]: expected an integer weight, got "1" # - # routes/0'],
  ['{"upstreams":[{"id":"u1","nodes":{"a:1":1},"checks":{"active":{},"passive":{"healthy":{"successes":-1}}}}]}', 'upstreams[u1].checks.passive.healthy.successes: expected -1 to be at least 0 # - # upstreams/0'],
  ['{"upstreams":[{"id":"u1","nodes":{"a:1":1},"timeout":{"connect":1,"send":1}}]}', 'upstreams[u1].timeout.read: is required # - # upstreams/0'],
  ['{"upstreams":[{"id":"u1","nodes":{"a:1":1},"_cluster":"a b"}]}', 'upstreams[u1]._cluster: a cluster name is printable ASCII without spaces # - # upstreams/0'],
  // After a section's objects, errors are the document's again.
  ['{"upstreams":[' + U + '],"ssls":5}', 'ssls: expected an array, got integer # - # document'],
  ['{"routes":[{"id":"r1","uri":"/","upstream_id":"u1"}],"health":3}', 'health: expected an object {cluster: {"ip:port": false}} # - # document'],
  // Warnings: inside an object relative to it, after parsing absolute.
  ['{"routes":[{"id":"r1","uri":"/","upstream_id":"u2","service_id":"s9","plugin_config_id":"p","plugins":{"cors":{}}}],"upstreams":[' + U + ']}',
    '- # routes[r1].plugin_config_id: ignored: plugins are not run by this filter | routes[r1].plugins.cors: plugin ignored: plugins are not run by this filter | routes[r1].upstream_id: upstream u2 does not exist (requests will get 502) | routes[r1].service_id: service s9 does not exist (requests will get 404) # -'],
  ['{"upstreams":[' + U + '],"routes":[{"id":"r1","uri":"/","upstream_id":"u1","plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream_id":"u1","weight":1},{"upstream_id":"u9","weight":1},{"weight":1}]}]}}}]}',
    '- # routes[r1].plugins.traffic-split.rules[0].weighted_upstreams[1].upstream_id: upstream "u9" does not exist (requests it is chosen for will get 502) # -'],
  ['{"upstreams":[{"id":"u1","nodes":{"a:1":1},"tls":{"client_cert_id":"c1"}}]}', '- # upstreams[u1].tls.client_cert_id: ssl c1 does not exist (requests will get 502) # -'],
];

describe("issue paths are composed only when reported", () => {
  it("names objects and fields as before, and lists each invalid object once", () => {
    for (let i = 0; i < cases.length; i++) {
      expect(run(cases[i][0])).toBe(cases[i][1], cases[i][0]);
    }
  });
});

describe("nodes", () => {
  it("an address, host header and cluster as an operator wrote them", () => {
    const res = parseConfig(Uint8Array.wrap(String.UTF8.encode(
      '{"dns":{"d.example":{"addresses":["10.0.0.9"]}},"upstreams":[{"id":"u1","pass_host":"node","nodes":{"10.0.0.1:8080":1,"10.0.0.2:080":2,"[::1]:90":1,"10.0.0.3":1,"d.example:81":1,"x.example:82":1}}]}')));
    expect(res.config).not.toBeNull();
    const up = res.config!.upstreams.get("u1");
    expect(up.cluster).toBe("upstreams[u1]");
    // x.example is not resolved: dropped, the others keep their order and positions.
    expect(up.nodes.length).toBe(5);
    expect(up.dnsDropped.join(";")).toBe("failed to parse domain: x.example, error: not resolved by the control plane");
    const got = new Array<string>();
    for (let i = 0; i < up.nodes.length; i++) {
      const n = up.nodes[i];
      got.push(n.index.toString() + " " + n.address + " " + n.hostHeader);
    }
    expect(got.join(", ")).toBe("0 10.0.0.1:8080 10.0.0.1:8080, 1 10.0.0.2:80 10.0.0.2, 2 [::1]:90 [::1]:90, 3 10.0.0.3:80 10.0.0.3, 4 10.0.0.9:81 d.example:81");
    expect(up.fingerprint).toBe("roundrobin|vars||http|10.0.0.1:8080/1/0/|10.0.0.2:80/2/0/|[::1]:90/1/0/|10.0.0.3:80/1/0/|10.0.0.9:81/1/0/d.example");
  });

  it("splitHostPort says when the input is the address already", () => {
    expect(splitHostPort("10.0.0.1:8080").canonical).toBe(true);
    expect(splitHostPort("10.0.0.1:08080").canonical).toBe(false);
    expect(splitHostPort("10.0.0.1:08080").port).toBe(8080);
    expect(splitHostPort("10.0.0.1").canonical).toBe(false);
    expect(splitHostPort("[::1]:1").canonical).toBe(true);
    expect(splitHostPort("[::1]:").error).toBe("invalid port ");
    expect(splitHostPort("[::1]x").error).toBe("invalid address [::1]x");
    expect(formatAddress("::ffff:1.2.3.4", 65535)).toBe("[::ffff:1.2.3.4]:65535");
  });
});

describe("text builder", () => {
  it("writes integers as toString() does", () => {
    const v: i64[] = [0, 7, -1, 10, 99, 100, -12345, 4294967295, i64.MAX_VALUE, i64.MIN_VALUE];
    for (let i = 0; i < v.length; i++) expect(text.reset().add("<").addInt(v[i]).add(">").take()).toBe("<" + v[i].toString() + ">");
  });
  it("grows for a long string and starts empty again", () => {
    let want = "";
    const b = text.reset();
    for (let i = 0; i < 5000; i++) { b.add("ab").addInt(i); want += "ab" + i.toString(); }
    expect(b.take()).toBe(want);
    expect(text.reset().take()).toBe("");
    expect(text.reset().add("x").take()).toBe("x");
  });
});

describe("list-form nodes", () => {
  it("name the node by its position, inside inline upstreams too", () => {
    const res = parseConfig(Uint8Array.wrap(String.UTF8.encode(
      '{"upstreams":[{"id":"u1","nodes":[{"host":"a","port":1,"weight":1},{"host":"b","port":0,"weight":1,"x":1}]}],' +
      '"routes":[{"id":"r1","uri":"/","upstream":{"nodes":[{"host":"c","weight":-1},{"host":"::1","weight":1},{"host":"d","weight":1,"priority":"p","metadata":1}]},"timeout":{"connect":0,"send":1,"read":1}}]}')));
    expect(res.issues.errors.join(" | ")).toBe(
      "upstreams[u1].nodes[1].x: unknown field (not in APISIX's schema) | upstreams[u1].nodes[1].port: expected 0 to be at least 1 | " +
      "routes[r1].timeout.connect: expected 0 to be greater than 0 | " +
      "routes[r1].upstream.nodes[0].weight: expected -1 to be at least 0 | routes[r1].upstream.nodes[1].host: IPv6 address must be enclosed with '[' and ']' | " +
      "routes[r1].upstream.nodes[2].priority: expected an integer, got \"p\" | routes[r1].upstream.nodes[2].metadata: expected an object");
  });
});
