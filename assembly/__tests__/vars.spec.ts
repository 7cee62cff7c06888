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

// Every message compileVars can give, with its path, in order.
function errorsOf(doc: string): string {
  const issues = new Issues();
  const e = compileVars(parseJson(doc).value!, "vars", issues);
  expect(e === null).toBe(issues.count > 0, doc);
  return issues.errors.join("\n");
}

describe("vars errors", () => {
  it("name the field and say what is wrong, byte for byte", () => {
    const docs = [
      '{"a":1}',
      '"x"',
      '[1]',
      '[["a"]]',
      '[["a","==","b","c","d"]]',
      '[[1,"==","b"]]',
      '[["","==","b"]]',
      '[["a","?","==","b"]]',
      '[["a",1,"==","b"]]',
      '[["a","=","b"]]',
      '[["a","!","=~","b"]]',
      '[["a",7,"b"]]',
      '[["a",">","b"]]',
      '[["a","<=",null]]',
      '[["a",">=",[1]]]',
      '[["a","<","0x1g"]]',
      '[["a","in","b"]]',
      '[["a","IN",{"x":1}]]',
      '[["a","~~",1]]',
      '[["a","~*",["x"]]]',
      '[["a","~~","(x"]]',
      '[["a","!","~*","[z-a]"]]',
      '[["a","ipmatch","10.0.0.0/33"]]',
      '[["a","ipmatch",["10.0.0.1",5,"x"]]]',
      '[["a","ipmatch",[1]]]',
      '[["a","ipmatch",{"a":1}]]',
      '[["a","==",{"a":1}]]',
      '[["a","has",{"a":1}]]',
      '[["a","~=",{}]]',
      '["OR",["a","=","b"],5,["AND",["x","in",1]]]',
      "[".repeat(19) + '"a","==","b"' + "]".repeat(19),
      '["!AND",[["a",">",1]],["b","<","x"]]',
      '[["' + "x".repeat(100) + '","==",1,2]]',
    ];
    const want = [
      "vars: expected an array of expressions, got object",
      "vars: expected an array of expressions, got string",
      'vars: expected [var, value], [var, operator, value] or [var, "!", operator, value], got [1]',
      'vars[0]: expected [var, value], [var, operator, value] or [var, "!", operator, value], got ["a"]',
      'vars[0]: expected [var, value], [var, operator, value] or [var, "!", operator, value], got ["a","==","b","c","d"]',
      "vars[0][0]: variable name must be a non-empty string",
      "vars[0][0]: variable name must be a non-empty string",
      'vars[0][1]: expected "!" in a 4-element expression',
      'vars[0][1]: expected "!" in a 4-element expression',
      'vars[0][1]: unknown operator "=" (supported: == ~= > < >= <= in IN has ~~ ~* ipmatch)',
      'vars[0][2]: unknown operator "=~" (supported: == ~= > < >= <= in IN has ~~ ~* ipmatch)',
      "vars[0][1]: unknown operator 7 (supported: == ~= > < >= <= in IN has ~~ ~* ipmatch)",
      'vars[0]: operator > needs a number, got "b"',
      "vars[0]: operator <= needs a number, got null",
      "vars[0]: operator >= needs a number, got [1]",
      'vars[0]: operator < needs a number, got "0x1g"',
      'vars[0]: operator in needs an array, got "b"',
      'vars[0]: operator in needs an array, got {"x":1}',
      "vars[0]: operator ~~ needs a regex string, got 1",
      'vars[0]: operator ~* needs a regex string, got ["x"]',
      'vars[0]: invalid regex "(x": missing closing parenthesis at offset 0',
      'vars[0]: invalid regex "[z-a]": range out of order in character class at offset 1',
      "vars[0]: invalid IP or CIDR 10.0.0.0/33",
      "vars[0]: invalid IP or CIDR x",
      "vars[0]: operator ipmatch needs an IP/CIDR or a list of them",
      "vars[0]: operator ipmatch needs an IP/CIDR or a list of them",
      "vars[0]: value must not be an object",
      "vars[0]: value must not be an object",
      "vars[0]: value must not be an object",
      'vars[1][1]: unknown operator "=" (supported: == ~= > < >= <= in IN has ~~ ~* ipmatch)\nvars[2]: expected an expression array, got 5\nvars[3][1]: operator in needs an array, got 1',
      "vars[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: expressions nested deeper than 16",
      'vars[2]: operator < needs a number, got "x"',
      'vars[0][1]: expected "!" in a 4-element expression',
    ];
    for (let i = 0; i < docs.length; i++) expect(errorsOf(docs[i])).toBe(want[i], docs[i]);
  });
});

describe("vars operators", () => {
  it("each operator name compiles to its own test", () => {
    const rules = [
      '["arg_x","==","5"]', '["arg_x","==",5]', '["arg_x","~=","5"]', '["arg_x","~=",6]', '["arg_x",">",4]', '["arg_x",">","5"]',
      '["arg_x","<",6]', '["arg_x","<","5"]', '["arg_x",">=",5]', '["arg_x",">=",6]', '["arg_x","<=",5]', '["arg_x","<=","4"]',
      '["arg_x","in",["4","5"]]', '["arg_x","IN",["4"]]', '["arg_x","has","5"]', '["arg_x","~~","^5$"]', '["arg_x","~~","^X"]',
      '["arg_x","~*","^0X5$"]', '["arg_x","ipmatch","10.0.0.0/8"]', '["arg_x","!","==","5"]', '["arg_x","5"]', '["arg_x","!","in",["4"]]',
    ];
    const want = [true, true, false, true, true, false, true, false, true, false, true, false, true, false, false, true, false, false, false, false, true, true];
    for (let i = 0; i < rules.length; i++) expect(holdsFor("[" + rules[i] + "]", ["5"])).toBe(want[i], rules[i]);
    expect(holdsFor('[["arg_x","~*","^0X5$"]]', ["0x5"])).toBe(true);
    expect(holdsFor('[["arg_x","ipmatch",["192.168.0.0/16","10.0.0.0/8"]]]', ["10.1.2.3"])).toBe(true);
    expect(holdsFor('[["arg_x","has","5"]]', ["4", "5"])).toBe(true);
    // ~= against nil, numbers and strings, negated too; arg_y is absent
    const ne = ['["arg_y","~=","x"]', '["arg_y","~=",null]', '["arg_x","~=",null]', '["arg_x","~=",5.0]', '["arg_x","~=","05"]',
      '["arg_x","!","~=","5"]', '["arg_y","!","~=",null]', '["arg_x","~=",true]', '["arg_y","==",null]', '["arg_y","!","==",null]'];
    const neWant = [true, false, true, false, true, true, true, true, true, false];
    for (let i = 0; i < ne.length; i++) expect(holdsFor("[" + ne[i] + "]", ["5"])).toBe(neWant[i], ne[i]);
  });
});

describe("vars groups", () => {
  it("AND, OR and their negations, nested", () => {
    const T = '["arg_x","==","5"]', F = '["arg_x","==","6"]';
    const docs = [
      "[" + T + "," + T + "]", "[" + T + "," + F + "]", "[]",
      '["AND",' + T + "," + F + "]", '["AND",' + T + "]", '["AND"]',
      '["OR",' + F + "," + T + "]", '["OR",' + F + "," + F + "]", '["OR"]',
      '["!AND",' + T + "," + F + "]", '["!AND",' + T + "]",
      '["!OR",' + F + "," + F + "]", '["!OR",' + T + "," + F + "]",
      '["OR",["AND",' + T + "," + F + "],[" + F + "," + T + "]," + T + "]",
      '["OR",["AND",' + T + "," + F + "],[" + F + "]]",
      '[["!OR",' + F + "],[" + T + "]]",
    ];
    const want = [true, false, true, false, true, true, true, false, false, true, false, true, false, true, false, true];
    for (let i = 0; i < docs.length; i++) expect(holdsFor(docs[i], ["5"])).toBe(want[i], docs[i]);
  });
});
