// The rule interpreter of config/schema.ts on its own: each rule's messages,
// `bare`, nested objects (unknown members, then rules in the written order),
// absent members, and literals split in parts. The config specs and the
// node suites pin the same texts through whole documents.
import { parseJson } from "../json";
import { Issues } from "../config/errors";
import { check, checkObject, listOf, statusCodes } from "../config/schema";
import { parseConfig } from "../config/config";
import { ROUTER_NAMES } from "../router";

function errors(json: string, schema: string, more: string = ""): string {
  const issues = new Issues();
  const ok = checkObject(parseJson(json).value!, "x", issues, schema, more);
  const s = issues.errors.join(" | ");
  expect(ok).toBe(s.length == 0, s);
  return s;
}

const RULES = "s string; b boolean; q boolean bare; i integer -2 7; e enum a bc; n number > 0; z number >= 1.5 bare; t seconds; c certificate; k private-key; h header-lines; l status-codes; o object { p integer 0 1; } ob object bare { }; free";

describe("schema rules", () => {
  it("accepts valid members and ignores absent ones", () => {
    expect(errors('{"t":1}', RULES)).toBe("");
    expect(errors('{"s":"","b":true,"q":false,"i":-2,"e":"bc","n":0.5,"z":1.5,"t":3,"h":["A: b"],"l":[200,599],"o":{"p":1},"ob":{},"free":[1]}', RULES)).toBe("");
  });
  it("reports each rule's message at the member's path", () => {
    expect(errors('{"s":1,"t":1}', RULES)).toBe("x.s: expected a string, got integer");
    expect(errors('{"b":"x","t":1}', RULES)).toBe("x.b: expected a boolean, got string");
    expect(errors('{"q":1,"t":1}', RULES)).toBe("x.q: expected a boolean");
    expect(errors('{"i":1.5,"t":1}', RULES)).toBe("x.i: expected an integer, got 1.5");
    expect(errors('{"i":-3,"t":1}', RULES)).toBe("x.i: expected -3 to be at least -2");
    expect(errors('{"i":8,"t":1}', RULES)).toBe("x.i: expected 8 to be at most 7");
    expect(errors('{"e":"b","t":1}', RULES)).toBe('x.e: "b" matches none of the enum values [a, bc]');
    expect(errors('{"n":0,"t":1}', RULES)).toBe("x.n: expected a number > 0, got 0");
    expect(errors('{"z":1,"t":1}', RULES)).toBe("x.z: expected a number >= 1.5");
    expect(errors("{}", RULES)).toBe("x.t: is required");
    expect(errors('{"t":"1"}', RULES)).toBe("x.t: expected a number of seconds, got string");
    expect(errors('{"t":-1}', RULES)).toBe("x.t: expected -1 to be greater than 0");
    expect(errors('{"c":"x","t":1}', RULES)).toBe("x.c: expected a PEM certificate (at least 128 characters)");
    expect(errors('{"k":1,"t":1}', RULES)).toBe("x.k: expected a PEM string, got integer");
    expect(errors('{"h":["a",2],"t":1}', RULES)).toBe("x.h[1]: expected a string");
    expect(errors('{"h":"a","t":1}', RULES)).toBe('x.h: expected an array of "Name: value" strings');
    expect(errors('{"l":[200,99,200],"t":1}', RULES)).toBe("x.l[1]: expected a status code 200-599, got 99 | x.l: status 200 listed twice");
    expect(errors('{"l":[],"t":1}', RULES)).toBe("x.l: expected a non-empty array of HTTP status codes");
    expect(errors('{"o":[],"ob":1,"t":1}', RULES)).toBe("x.o: expected an object, got array | x.ob: expected an object");
  });
  it("rejects unknown members first, then applies the rules in the written order", () => {
    expect(errors('{"y":1,"o":{"w":0,"p":2},"s":1,"t":1}', RULES)).toBe(
      "x.y: unknown field (not in APISIX's schema) | x.s: expected a string, got integer | x.o.w: unknown field (not in APISIX's schema) | x.o.p: expected 2 to be at most 1",
    );
  });
  it("reads a schema given in parts as one text", () => {
    expect(errors('{"a":1,"b":"x"}', "a integer 2 3; b inte", "ger 0 1")).toBe("x.a: expected 1 to be at least 2 | x.b: expected an integer, got \"x\"");
  });
  it("check leaves members it does not name alone", () => {
    const issues = new Issues();
    expect(check(parseJson('{"other":1,"a":true}').value!, "", issues, "a boolean")).toBe(true);
    expect(issues.errors.length).toBe(0);
  });
  it("listOf splits once and keeps the list", () => {
    const a = listOf("p q r");
    expect(a.join(",")).toBe("p,q,r");
    expect(changetype<usize>(listOf("p q r"))).toBe(changetype<usize>(a));
  });
  it("an object rule without braces takes any members", () => {
    expect(errors('{"m":{"any":1,"more":[2]}}', "m object bare")).toBe("");
    expect(errors('{"m":[]}', "m object bare")).toBe("x.m: expected an object");
    expect(errors('{"m":1}', "m object")).toBe("x.m: expected an object, got integer");
  });
  it("the envoy section's router_http values are router.ts's names, in its order", () => {
    const res = parseConfig(Uint8Array.wrap(String.UTF8.encode('{"envoy":{"router_http":"x"}}')));
    expect(res.issues.errors.join(" | ")).toBe('envoy.router_http: "x" matches none of the enum values [' + ROUTER_NAMES.join(", ") + "]");
    for (let i = 0; i < ROUTER_NAMES.length; i++) {
      const ok = parseConfig(Uint8Array.wrap(String.UTF8.encode('{"envoy":{"router_http":"' + ROUTER_NAMES[i] + '"}}')));
      expect(changetype<usize>(ok.config)).not.toBe(0, ROUTER_NAMES[i]);
      expect(ok.config!.router.kind).toBe(<u8>i, ROUTER_NAMES[i]);
    }
  });
    it("statusCodes returns the valid codes once each", () => {
    const issues = new Issues();
    expect(statusCodes(parseJson("[500,503,500]").value!, "p", issues).join(",")).toBe("500,503");
    expect(issues.errors.join("|")).toBe("p: status 500 listed twice");
  });
});
