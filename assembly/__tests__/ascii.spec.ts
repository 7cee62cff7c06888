import { lowerAscii } from "../ascii";

describe("lowerAscii (nginx's and Lua's C-locale case folding)", () => {
  it("folds A–Z only", () => {
    expect(lowerAscii("Example.COM")).toBe("example.com");
    expect(lowerAscii("X-Foo_Bar")).toBe("x-foo_bar");
    expect(lowerAscii("@[`{")).toBe("@[`{");
  });
  it("keeps non-ASCII characters as they are", () => {
    expect(lowerAscii("ÄBC")).toBe("Äbc");
    expect(lowerAscii("İ")).toBe("İ");
  });
  it("returns a string without capitals unchanged, and the empty string", () => {
    const s = "already.lower";
    expect(changetype<usize>(lowerAscii(s))).toBe(changetype<usize>(s));
    expect(lowerAscii("")).toBe("");
  });
});
