import { isIPv4, isIPv6, splitHostPort, Cidr, formatAddress, parsePort } from "../net";

describe("net", () => {
  it("recognises IP literals", () => {
    expect(isIPv4("10.0.0.1")).toBe(true);
    expect(isIPv4("256.0.0.1")).toBe(false);
    expect(isIPv4("1.2.3")).toBe(false);
    expect(isIPv4("01.2.3.4")).toBe(false);
    expect(isIPv6("::1")).toBe(true);
    expect(isIPv6("fe80::1:2")).toBe(true);
    expect(isIPv6("::ffff:10.0.0.1")).toBe(true);
    expect(isIPv6("1:2:3:4:5:6:7:8")).toBe(true);
    expect(isIPv6("1:2:3:4:5:6:7:8:9")).toBe(false);
    expect(isIPv6("1::2::3")).toBe(false);
    expect(isIPv6("example.com")).toBe(false);
  });

  it("splits host:port as APISIX's node keys", () => {
    let r = splitHostPort("127.0.0.1:1980");
    expect(r.host).toBe("127.0.0.1"); expect(r.port).toBe(1980);
    r = splitHostPort("[::1]:80");
    expect(r.host).toBe("::1"); expect(r.port).toBe(80);
    r = splitHostPort("example.com");
    expect(r.host).toBe("example.com"); expect(r.port).toBe(0);
    expect(splitHostPort("::1").error).toBe("IPv6 address must be enclosed with '[' and ']'");
    expect(splitHostPort("a:0").error).toBe("invalid port 0");
    expect(splitHostPort("a:65536").error).toBe("invalid port 65536");
    expect(parsePort("x1")).toBe(-1);
  });

  it("formats addresses for Envoy's original-destination parser", () => {
    expect(formatAddress("10.0.0.1", 80)).toBe("10.0.0.1:80");
    expect(formatAddress("::1", 443)).toBe("[::1]:443");
  });

  it("matches CIDRs", () => {
    const c = Cidr.parse("10.1.0.0/16")!;
    expect(c.contains("10.1.200.3")).toBe(true);
    expect(c.contains("10.2.0.1")).toBe(false);
    expect(c.contains("::1")).toBe(false);
    expect(Cidr.parse("192.168.1.7")!.contains("192.168.1.7")).toBe(true);
    expect(Cidr.parse("2001:db8::/32")!.contains("2001:db8:1::5")).toBe(true);
    expect(Cidr.parse("10.0.0.0/33")).toBeNull();
    expect(Cidr.parse("nope")).toBeNull();
    expect(Cidr.parse("0.0.0.0/0")!.contains("8.8.8.8")).toBe(true);
  });
});
