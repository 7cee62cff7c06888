import { Request, Header, HeaderBlock, normalizePath, unescape, hostOf } from "../request";

function req(path: string, authority: string, extra: Array<Header> = []): Request {
  const h = new Array<Header>();
  h.push(new Header(":method", "GET"));
  h.push(new Header(":path", path));
  h.push(new Header(":authority", authority));
  h.push(new Header(":scheme", "http"));
  for (let i = 0; i < extra.length; i++) h.push(extra[i]);
  return Request.fromHeaders(HeaderBlock.fromHeaders(h), (): string => "10.0.0.9");
}

describe("request variables", () => {
  it("derives $uri, $host, $request_uri and $args like nginx", () => {
    const r = req("/a/%7Euser/../b//c?x=1&y=a+b&x=2", "API.Example.com:8080");
    expect(r.uri).toBe("/a/b/c");
    expect(r.host).toBe("api.example.com");
    expect(r.get("request_uri")!).toBe("/a/%7Euser/../b//c?x=1&y=a+b&x=2");
    expect(r.get("arg_x")!).toBe("1");
    expect(r.get("arg_y")!).toBe("a b");
    expect(r.getAll("arg_x").length).toBe(2);
    expect(r.get("arg_z")).toBeNull();
    expect(r.get("remote_addr")!).toBe("10.0.0.9");
  });

  it("reads headers and cookies", () => {
    const r = req("/", "a.com", [new Header("x-env", "beta"), new Header("cookie", "a=1; session=xyz")]);
    expect(r.get("http_x_env")!).toBe("beta");
    expect(r.get("cookie_session")!).toBe("xyz");
    expect(r.get("http_x_missing")).toBeNull();
  });

  it("indexes a pairs buffer without decoding it; malformed buffers keep what could be read", () => {
    const h = new Array<Header>();
    h.push(new Header("X-Env", "beta"));
    h.push(new Header("accept", "*/*"));
    h.push(new Header("x-env", "é"));
    const b = HeaderBlock.fromHeaders(h);
    expect(b.count).toBe(3);
    expect(b.find("x-env")).toBe(0);
    expect(b.find("x-env", 1)).toBe(2);
    expect(b.value(2)).toBe("é");
    expect(b.name(1)).toBe("accept");
    expect(b.find("missing")).toBe(-1);
    const buf = HeaderBlock.fromHeaders(h);
    const raw = new ArrayBuffer(40);
    store<u32>(changetype<usize>(raw), 1000000);
    expect(new HeaderBlock(raw).count).toBe(0);
    expect(new HeaderBlock(new ArrayBuffer(2)).count).toBe(0);
    const truncated = new ArrayBuffer(4 + 8 + 3);
    store<u32>(changetype<usize>(truncated), 1);
    store<u32>(changetype<usize>(truncated) + 4, 10);
    expect(new HeaderBlock(truncated).count).toBe(0);
    expect(buf.count).toBe(3);
  });

  it("normalises paths", () => {
    expect(normalizePath("/")).toBe("/");
    expect(normalizePath("/a/./b/")).toBe("/a/b/");
    expect(normalizePath("/../../etc")).toBe("/etc");
    expect(normalizePath("//x")).toBe("/x");
    expect(unescape("%41%zz%", false)).toBe("A%zz%");
    expect(hostOf("[::1]:80")).toBe("[::1]");
  });
});
