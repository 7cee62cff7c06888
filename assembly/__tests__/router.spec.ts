import { parseConfig, Config } from "../config/config";
import { RouteFilter } from "../router";
import { Route } from "../config/route";

class Any extends RouteFilter { accept(r: Route): bool { return true; } }
class NotIds extends RouteFilter {
  constructor(public skip: Array<string>) { super(); }
  accept(r: Route): bool { return !this.skip.includes(r.id); }
}

function load(json: string): Config {
  const res = parseConfig(Uint8Array.wrap(String.UTF8.encode(json)));
  if (res.config === null) {
    trace("config errors: " + res.issues.errors.join(" | "));
  }
  return res.config!;
}

function matchId(cfg: Config, host: string, path: string, f: RouteFilter = new Any()): string {
  const r = cfg.router.match(host, path, f);
  return r === null ? "-" : r.id;
}

const UP = '"upstream":{"nodes":{"127.0.0.1:1980":1}}';

describe("router (radixtree_host_uri)", () => {
  it("prefers exact uris, then the longest prefix", () => {
    const cfg = load('{"routes":[' +
      '{"id":"all","uri":"/*",' + UP + '},' +
      '{"id":"api","uri":"/api/*",' + UP + '},' +
      '{"id":"apiv1","uri":"/api/v1/*",' + UP + '},' +
      '{"id":"exact","uri":"/api/v1/users",' + UP + '}]}');
    expect(matchId(cfg, "", "/api/v1/users")).toBe("exact");
    expect(matchId(cfg, "", "/api/v1/users/1")).toBe("apiv1");
    expect(matchId(cfg, "", "/api/v2")).toBe("api");
    expect(matchId(cfg, "", "/api")).toBe("all");
    expect(matchId(cfg, "", "/")).toBe("all");
  });

  it("orders routes on the same uri by priority, then document order", () => {
    const cfg = load('{"routes":[' +
      '{"id":"low","uri":"/p/*","priority":1,' + UP + '},' +
      '{"id":"high","uri":"/p/*","priority":10,' + UP + '},' +
      '{"id":"high2","uri":"/p/*","priority":10,' + UP + '},' +
      '{"id":"short-but-urgent","uri":"/*","priority":100,' + UP + '}]}');
    expect(matchId(cfg, "", "/p/x")).toBe("high");
    expect(matchId(cfg, "", "/p/x", new NotIds(["high"]))).toBe("high2");
    expect(matchId(cfg, "", "/p/x", new NotIds(["high", "high2"]))).toBe("low");
    // A longer prefix wins over a higher priority on a shorter one (radixtree).
    expect(matchId(cfg, "", "/p/x", new NotIds(["high", "high2", "low"]))).toBe("short-but-urgent");
  });

  it("tries host routes first, wildcards by longest suffix, then host-less routes", () => {
    const cfg = load('{"routes":[' +
      '{"id":"nohost","uri":"/*",' + UP + '},' +
      '{"id":"exacthost","uri":"/*","host":"a.foo.com",' + UP + '},' +
      '{"id":"wild","uri":"/*","hosts":["*.foo.com"],' + UP + '},' +
      '{"id":"wild2","uri":"/x/*","hosts":["*.b.foo.com"],' + UP + '}]}');
    expect(matchId(cfg, "a.foo.com", "/")).toBe("exacthost");
    expect(matchId(cfg, "z.foo.com", "/")).toBe("wild");
    expect(matchId(cfg, "c.b.foo.com", "/x/1")).toBe("wild2");
    expect(matchId(cfg, "c.b.foo.com", "/y")).toBe("wild");
    expect(matchId(cfg, "foo.com", "/")).toBe("nohost");
    expect(matchId(cfg, "other.com", "/")).toBe("nohost");
    // A host route that fails its conditions falls through to the next candidate.
    expect(matchId(cfg, "a.foo.com", "/", new NotIds(["exacthost"]))).toBe("wild");
  });

  it("finds keys that split, extend and end inside one another, whatever the order they came in", () => {
    const routes = [
      '{"id":"abc","uri":"/abc",' + UP + '}',
      '{"id":"abd","uri":"/abd/*",' + UP + '}',
      '{"id":"ab","uri":"/ab/*",' + UP + '}',
      '{"id":"a","uri":"/a*",' + UP + '}',
      '{"id":"abcdef","uri":"/abcdef",' + UP + '}',
    ];
    // Forward and reversed: a later key splits an earlier one's label, or
    // ends where an earlier one continues.
    const orders = [routes.join(","), routes.slice(0).reverse().join(",")];
    for (let o = 0; o < orders.length; o++) {
      const cfg = load('{"routes":[' + orders[o] + ']}');
      expect(matchId(cfg, "", "/abc")).toBe("abc");
      expect(matchId(cfg, "", "/abcdef")).toBe("abcdef");
      // Ends inside the label of "/abcdef", or runs past it: only the prefix.
      expect(matchId(cfg, "", "/abcd")).toBe("a");
      expect(matchId(cfg, "", "/abcdefg")).toBe("a");
      expect(matchId(cfg, "", "/abd/x")).toBe("abd");
      expect(matchId(cfg, "", "/abd/")).toBe("abd");
      expect(matchId(cfg, "", "/abd")).toBe("a");
      expect(matchId(cfg, "", "/ab/x")).toBe("ab");
      expect(matchId(cfg, "", "/ab")).toBe("a");
      expect(matchId(cfg, "", "/a")).toBe("a");
      expect(matchId(cfg, "", "/")).toBe("-");
      expect(matchId(cfg, "", "")).toBe("-");
      expect(matchId(cfg, "", "/b")).toBe("-");
      expect(matchId(cfg, "", "/abd/x", new NotIds(["abd"]))).toBe("a");
    }
  });

  it("orders many routes under one key by priority, then document order", () => {
    // More than a handful under one key takes the merge sort.
    let routes = "";
    for (let i = 0; i < 40; i++) {
      routes += (i ? "," : "") + '{"id":"s' + i.toString() + '","uri":"/same/*","priority":' + (i % 3).toString() + "," + UP + "}";
    }
    const cfg = load('{"routes":[' + routes + ']}');
    const skip = new Array<string>();
    const want = new Array<string>();
    for (let p = 2; p >= 0; p--) for (let i = 0; i < 40; i++) if (i % 3 == p) want.push("s" + i.toString());
    for (let k = 0; k < 40; k++) {
      const got = matchId(cfg, "", "/same/x", new NotIds(skip));
      expect(got).toBe(want[k]);
      skip.push(got);
    }
    expect(matchId(cfg, "", "/same/x", new NotIds(skip))).toBe("-");
  });

  it("takes prefixes of thousands of characters, sharing all but their ends", () => {
    const long = "/" + "a".repeat(4000);
    let routes = "";
    for (let i = 0; i < 20; i++) routes += (i ? "," : "") + '{"id":"l' + i.toString() + '","uri":"' + long + i.toString() + '/*",' + UP + "}";
    routes += ',{"id":"exact","uri":"' + long + '",' + UP + "}";
    const cfg = load('{"routes":[' + routes + ']}');
    expect(matchId(cfg, "", long + "7/x")).toBe("l7");
    expect(matchId(cfg, "", long + "17/")).toBe("l17");
    expect(matchId(cfg, "", long)).toBe("exact");
    expect(matchId(cfg, "", long + "7")).toBe("-");
    expect(matchId(cfg, "", long.substring(0, 3000))).toBe("-");
  });

  it("never matches disabled routes", () => {
    const cfg = load('{"routes":[{"id":"off","uri":"/*","status":0,' + UP + '}]}');
    expect(matchId(cfg, "", "/")).toBe("-");
  });
});

function loadWith(router: string, routes: string): Config {
  return load('{"envoy":{"router_http":"' + router + '"},"routes":[' + routes + ']}');
}

// [uri, path, matches?] under radixtree_uri_with_parameter; the cases of
// APISIX's t/router/radixtree-uri-with-parameter*.t plus radixtree's
// fetch_pat rules (':' one non-empty segment, '*' the rest, a trailing '/').
const PARAMETER_CASES: Array<Array<string>> = [
  ["/name/:name/bar", "/name/json/bar", "y"],
  ["/name/:name/bar", "/name/with space/bar", "y"],
  ["/name/:name/bar", "/name/json2/foo", "n"],
  ["/name/:name/bar", "/name/json/", "n"],
  ["/name/:name/bar", "/name//bar", "n"],
  ["/name/:name/bar", "/name/json/bar/x", "n"],
  ["/:name/foo", "/json/foo", "y"],
  ["/:name/foo", "/json/bbb/foo", "n"],
  ["/user/:id/", "/user/5/", "y"],
  ["/user/:id/", "/user/5", "n"],
  ["/user/:id", "/user/5/", "n"],
  ["/files/*path", "/files/a/b/c.txt", "y"],
  ["/files/*path", "/files/", "y"],
  ["/files/*path", "/files", "n"],
  ["/files/*path/meta", "/files/a/b/meta", "y"],
  ["/files/*path/meta", "/files/a/meta/b/meta", "y"],
  ["/files/*path/meta", "/files/a/b/metax", "n"],
  ["/a/*x/b/*y/c", "/a/1/2/b/3/b/4/c", "y"],
  ["/a/*x/b/*y/c", "/a/1/2/b/3/c/d", "n"],
  ["/v1/:id/products/:cat/list", "/v1/test/products/electronics/list", "y"],
  ["/v1/:id/products/:cat/list", "/v1/test/products/list", "n"],
  // No parameter segment after the cut: radixtree reads it as the prefix.
  ["/foo/a:b", "/foo/aXYZ", "y"],
];

describe("router (radixtree_uri_with_parameter)", () => {
  it("matches uri parameters as radixtree does", () => {
    for (let i = 0; i < PARAMETER_CASES.length; i++) {
      const c = PARAMETER_CASES[i];
      const cfg = loadWith("radixtree_uri_with_parameter", '{"id":"p","uri":"' + c[0] + '",' + UP + '}');
      const got = matchId(cfg, "", c[1]);
      if (got != (c[2] == "y" ? "p" : "-")) trace("case " + c[0] + " vs " + c[1] + ": got " + got);
      expect(got).toBe(c[2] == "y" ? "p" : "-");
    }
  });

  it("reads ':' literally in the other routers, and '*name' as a parameter in all", () => {
    const host = load('{"routes":[{"id":"p","uri":"/user/:id",' + UP + '},{"id":"f","uri":"/files/*path/meta",' + UP + '}]}');
    expect(matchId(host, "", "/user/:id")).toBe("p");
    expect(matchId(host, "", "/user/5")).toBe("-");
    expect(matchId(host, "", "/files/a/b/meta")).toBe("f");
    expect(matchId(host, "", "/files/a/b")).toBe("-");
    const uri = loadWith("radixtree_uri", '{"id":"p","uri":"/user/:id",' + UP + '}');
    expect(matchId(uri, "", "/user/:id")).toBe("p");
    expect(matchId(uri, "", "/user/5")).toBe("-");
  });

  it("tries a longer uri under the same key first, after priority", () => {
    const cfg = loadWith("radixtree_uri_with_parameter",
      '{"id":"all","uri":"/user/*",' + UP + '},' +
      '{"id":"profile","uri":"/user/:name/profile",' + UP + '},' +
      '{"id":"urgent","uri":"/user/*","priority":5,' + UP + '}');
    expect(matchId(cfg, "", "/user/jo/profile")).toBe("urgent");
    expect(matchId(cfg, "", "/user/jo/profile", new NotIds(["urgent"]))).toBe("profile");
    expect(matchId(cfg, "", "/user/jo/other", new NotIds(["urgent"]))).toBe("all");
    // An exact uri still wins over every parameter route.
    const exact = loadWith("radixtree_uri_with_parameter",
      '{"id":"param","uri":"/user/:name",' + UP + '},{"id":"me","uri":"/user/me",' + UP + '}');
    expect(matchId(exact, "", "/user/me")).toBe("me");
    expect(matchId(exact, "", "/user/you")).toBe("param");
  });

  it("checks hosts per route: a host-less route can win by priority (t/router TEST 10-11)", () => {
    const cfg = load('{"envoy":{"router_http":"radixtree_uri_with_parameter"},' +
      '"services":[{"id":"1","hosts":["bar.com"]}],"routes":[' +
      '{"id":"1","uri":"/:name/hello","service_id":"1",' + UP + '},' +
      '{"id":"2","uri":"/:name/hello","priority":-1,' + UP + '},' +
      '{"id":"3","uri":"/w/*","hosts":["*.foo.com"],"priority":1,' + UP + '},' +
      '{"id":"4","uri":"/w/*","priority":2,' + UP + '}]}');
    expect(matchId(cfg, "www.foo.com", "/john/hello")).toBe("2");
    expect(matchId(cfg, "bar.com", "/john/hello")).toBe("1");
    // radixtree_host_uri would try the host route first; here priority decides.
    expect(matchId(cfg, "a.foo.com", "/w/x")).toBe("4");
    expect(matchId(cfg, "a.foo.com", "/w/x", new NotIds(["4"]))).toBe("3");
    expect(matchId(cfg, "foo.com", "/w/x", new NotIds(["4"]))).toBe("-");
  });

  it("rejects an unknown router name", () => {
    const res = parseConfig(Uint8Array.wrap(String.UTF8.encode('{"envoy":{"router_http":"radixtree_nope"},"routes":[]}')));
    expect(res.config).toBeNull();
    expect(res.issues.errors.join("|").includes("envoy.router_http")).toBe(true);
  });
});
