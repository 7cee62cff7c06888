import { parseConfig, Config } from "../config/config";
import { RouteFilter } from "../router";
import { Route } from "../config/model";

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

  it("never matches disabled routes", () => {
    const cfg = load('{"routes":[{"id":"off","uri":"/*","status":0,' + UP + '}]}');
    expect(matchId(cfg, "", "/")).toBe("-");
  });
});
