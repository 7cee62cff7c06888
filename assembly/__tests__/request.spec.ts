import { Header, HeaderBlock, decodeBytes, encodeBytes } from "../headers";
import { nginxUri, unescape, validateHost } from "../nginx";
import { Request } from "../request";

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

  it("finds names of every length, 31 and longer sharing one length bit, and none once released", () => {
    const h = new Array<Header>();
    const long31 = "x-" + "a".repeat(29);
    const long45 = "x-" + "b".repeat(43);
    h.push(new Header("A", "1"));
    h.push(new Header(long31.toUpperCase(), "31"));
    h.push(new Header(long45, "45"));
    h.push(new Header("", "empty"));
    const b = HeaderBlock.fromHeaders(h);
    expect(b.find("a")).toBe(0);
    expect(b.find(long31)).toBe(1);
    expect(b.find(long45)).toBe(2);
    expect(b.find("")).toBe(3);
    expect(b.find("b")).toBe(-1);
    expect(b.find("x-" + "c".repeat(43))).toBe(-1);
    expect(b.find("x-" + "a".repeat(30))).toBe(-1);
    b.release();
    expect(b.find("a")).toBe(-1);
  });

  it("derives $uri as nginx does, 400 where nginx answers 400", () => {
    expect(nginxUri("/")!).toBe("/");
    expect(nginxUri("")!).toBe("/");
    expect(nginxUri("/a/./b/")!).toBe("/a/b/");
    expect(nginxUri("/a/.")!).toBe("/a/");
    expect(nginxUri("/a/b/..")!).toBe("/a/");
    expect(nginxUri("//x")!).toBe("/x");
    expect(nginxUri("/a%2F..%2Fb")!).toBe("/b");
    expect(nginxUri("/a/%2e%2E/b")!).toBe("/b");
    expect(nginxUri("/a%252Fb")!).toBe("/a%2Fb");
    expect(nginxUri("/a%3Fb?c")!).toBe("/a?b");
    expect(nginxUri("/a/..%3F")!).toBe("/a/..?");
    expect(nginxUri("/a#/../b")!).toBe("/a");
    expect(nginxUri("/a/.b/..c")!).toBe("/a/.b/..c");
    expect(nginxUri("/public/%F0%2F..%2F..%2Finternal/x")!).toBe("/internal/x");
    expect(nginxUri("/..")).toBeNull();
    expect(nginxUri("/../etc")).toBeNull();
    expect(nginxUri("/a/../../etc")).toBeNull();
    expect(nginxUri("/%zz")).toBeNull();
    expect(nginxUri("/a%")).toBeNull();
    expect(nginxUri("/a%4")).toBeNull();
    expect(nginxUri("/a%00")).toBeNull();
    expect(unescape("%41%zz%", false)).toBe("A%zz%");
  });

  it("decodes bytes strictly: no swallowed bytes, no overlongs, no surrogates", () => {
    const d = (bytes: Array<u8>): string => {
      const b = new Uint8Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) b[i] = bytes[i];
      return decodeBytes(b.dataStart, b.length);
    };
    expect(d([0x61, 0xc3, 0xa9])).toBe("aé");
    expect(d([0xf0, 0x9f, 0x98, 0x80])).toBe("😀");
    expect(d([0xf0, 0x2f, 0x2e])).toBe("\udcf0/.");
    expect(d([0xc0, 0xaf])).toBe("\udcc0\udcaf");
    expect(d([0xe0, 0x80, 0xaf])).toBe("\udce0\udc80\udcaf");
    expect(d([0xed, 0xa0, 0x80])).toBe("\udced\udca0\udc80");
    expect(d([0xf4, 0x90, 0x80, 0x80])).toBe("\udcf4\udc90\udc80\udc80");
    expect(d([0xe2, 0x82])).toBe("\udce2\udc82");
    const back = encodeBytes(d([0xf0, 0x73, 0xc3, 0xa9]));
    expect(back.length).toBe(4);
    expect(back[0]).toBe(0xf0);
    expect(back[3]).toBe(0xa9);
  });

  it("derives $host as nginx does: trailing dot dropped, invalid hosts null", () => {
    expect(validateHost("A.Example.com.")!).toBe("a.example.com");
    expect(validateHost("a.example.com.:8080")!).toBe("a.example.com");
    expect(validateHost("[::1]:80")!).toBe("[::1]");
    expect(validateHost("EXAMPLE.COM:")!).toBe("example.com");
    expect(validateHost("a..b")).toBeNull();
    expect(validateHost(".")).toBeNull();
    expect(validateHost("a/b")).toBeNull();
    expect(validateHost("[::1")).toBeNull();
    expect(validateHost("h:99999")).toBeNull();
    expect(validateHost("h:-1")).toBeNull();
    expect(validateHost("ünï.example")).toBeNull();
  });
});
