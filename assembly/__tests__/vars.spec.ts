import { parseJson } from "../json";
import { Issues } from "../config/errors";
import { VarSource, compileVars, toNumber } from "../expr/vars";

// Repeated query args: arg_x has every value given; others have none.
class Args extends VarSource {
  constructor(public values: Array<string>) { super(); }
  get(name: string): string | null { return name == "arg_x" && this.values.length > 0 ? this.values[0] : null; }
  getAll(name: string): Array<string> { return name == "arg_x" ? this.values : new Array<string>(); }
}

function holdsFor(rule: string, values: Array<string>): bool {
  const issues = new Issues();
  const e = compileVars(parseJson(rule).value!, "vars", issues);
  expect(issues.count).toBe(0);
  return e!.eval(new Args(values));
}

describe("vars has", () => {
  // lua-resty-expr's has: the variable is a list and one of its values is the operand's text.
  it("compares each value with the operand's text, string or not", () => {
    expect(holdsFor('[["arg_x","has","b"]]', ["a", "b"])).toBe(true);
    expect(holdsFor('[["arg_x","has","c"]]', ["a", "b"])).toBe(false);
    expect(holdsFor('[["arg_x","has",2]]', ["1", "2"])).toBe(true);
    expect(holdsFor('[["arg_x","has",1.5]]', ["1", "1.5"])).toBe(true);
    expect(holdsFor('[["arg_x","has",1.5]]', ["1", "1.50"])).toBe(false);
    expect(holdsFor('[["arg_x","has",true]]', ["true", "x"])).toBe(true);
    expect(holdsFor('[["arg_x","has",[1,"a"]]]', ['[1,"a"]', "x"])).toBe(true);
    expect(holdsFor('[["arg_x","!","has","b"]]', ["a", "b"])).toBe(false);
  });

  it("needs two values or more", () => {
    expect(holdsFor('[["arg_x","has","b"]]', ["b"])).toBe(false);
    expect(holdsFor('[["arg_x","has","b"]]', [])).toBe(false);
  });

  it("gives the same answer on every evaluation", () => {
    const issues = new Issues();
    const e = compileVars(parseJson('[["arg_x","has",0.25]]').value!, "vars", issues)!;
    const src = new Args(["x", "0.25"]);
    for (let i = 0; i < 3; i++) expect(e.eval(src)).toBe(true);
  });
});

describe("toNumber (Lua's tonumber)", () => {
  it("reads decimal and hex with surrounding spaces, nothing else", () => {
    const ok = ["0x1F", "-0x10", " 12 ", "1e3", "1.", ".5", "+2.5E-1", "007"];
    const want: f64[] = [31, -16, 12, 1000, 1, 0.5, 0.25, 7];
    for (let i = 0; i < ok.length; i++) expect(toNumber(ok[i])).toBe(want[i]);
    const bad = ["", ".", "1e", "1e+", "0x", "0x1g", "0x\u0010", "1.2.3", "e5", "12a", "--1"];
    for (let i = 0; i < bad.length; i++) expect(isNaN(toNumber(bad[i]))).toBe(true);
  });
});
