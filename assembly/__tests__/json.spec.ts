import { parseJson, JsonKind } from "../json";

describe("json", () => {
  it("parses nested documents keeping key order", () => {
    const r = parseJson('{"b":1,"a":[true,false,null,"x\\u00e9\\n"],"c":{"d":-1.5e2}}');
    expect(r.error).toBe("");
    const v = r.value!;
    expect(v.keyAt(0)).toBe("b");
    expect(v.keyAt(1)).toBe("a");
    expect(v.get("a")!.at(3).str).toBe("xé\n");
    expect(v.get("c")!.get("d")!.num).toBe(-150.0);
    expect(v.get("b")!.isInteger()).toBe(true);
  });

  it("round-trips through toJSON", () => {
    const text = '{"a":[1,2.5,"q\\"uote"],"b":{}}';
    expect(parseJson(text).value!.toJSON()).toBe(text);
  });

  it("reports malformed input with a position instead of trapping", () => {
    const bad = ['{', '{"a":}', '[1,]', '"abc', '{"a" 1}', 'tru', '01', '-', '1.', '{"a":1} x', '"\\x"', '[' + '['.repeat(200)];
    for (let i = 0; i < bad.length; i++) {
      const r = parseJson(bad[i]);
      expect(r.value).toBeNull();
      expect(r.error.length).toBeGreaterThan(0);
    }
  });

  it("keeps the last of duplicate keys", () => {
    const v = parseJson('{"a":1,"a":2}').value!;
    expect(v.length).toBe(1);
    expect(v.get("a")!.num).toBe(2.0);
  });

  it("distinguishes kinds", () => {
    const v = parseJson('[1, "1", true, null, [], {}]').value!;
    expect(v.at(0).kind).toBe(JsonKind.Number);
    expect(v.at(1).kind).toBe(JsonKind.String);
    expect(v.at(2).kind).toBe(JsonKind.Bool);
    expect(v.at(3).kind).toBe(JsonKind.Null);
    expect(v.at(4).kind).toBe(JsonKind.Array);
    expect(v.at(5).kind).toBe(JsonKind.Object);
    expect(v.at(9).isNull()).toBe(true);
  });
});
