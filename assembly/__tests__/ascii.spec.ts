import { lowerAscii, replaceChar, splitChar } from "../ascii";

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

// They stand in for String#split and String#replaceAll with one character:
// the same results on the edges.
describe("splitChar and replaceChar (one-character split and replaceAll)", () => {
  it("cut and replace as ~lib's String methods do", () => {
    const texts = ["", ";", ";;", "a", "a;", ";a", "a;b", "a;;b", " a = 1 ; b=2;", "é;ü;", "no separator here"];
    for (let i = 0; i < texts.length; i++) {
      const t = texts[i];
      const want = t.split(";");
      const got = splitChar(t, 0x3b);
      expect(got.length).toBe(want.length);
      for (let k = 0; k < want.length; k++) expect(got[k]).toBe(want[k]);
      expect(replaceChar(t, 0x3b, 0x2d)).toBe(t.replaceAll(";", "-"));
      expect(replaceChar(t, 0x3b, 0)).toBe(t.replaceAll(";", "\0"));
    }
  });
});
