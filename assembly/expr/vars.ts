// Route `vars`: lua-resty-expr expressions, compiled once at configure time.
//
//   [["arg_x", "==", "1"], ["http_x_env", "in", ["a", "b"]]]     all must hold
//   ["OR", ["arg_x", "==", "1"], ["arg_y", "==", "2"]]             any may hold
//   ["arg_x", "!", "==", "1"]                                       negation
//
// Comparison semantics follow lua-resty-expr: a number on the right makes the
// left side be read as a number (a non-numeric left side fails `==` and passes
// `~=`); `>`/`<`/`>=`/`<=` need both sides numeric; `in` needs the right side
// to be an array; `has` needs a multi-valued left side (e.g. a repeated query
// argument); an absent variable is nil and only `~=` (against a non-nil value)
// holds for it.

import { JsonValue, JsonKind } from "../json";
import { Issues, describe, indexed } from "../config/errors";
import { Cidr } from "../net";
import { Regex, lastRegexError, regexAborts } from "./regex";
import { hexVal } from "./regex/ast";
import { parseDecimal } from "../numparse";

// What a request exposes to expressions (implemented by request.ts).
export abstract class VarSource {
  // First value of the variable, or null when the request has none.
  abstract get(name: string): string | null;
  // Every value (repeated query args / headers); empty when absent.
  abstract getAll(name: string): Array<string>;
}

const enum Op { Eq, Ne, Gt, Lt, Ge, Le, In, Has, Match, MatchCi, IpMatch }

// An expression as a route or traffic-split condition: a regex match cut
// short by the request's budget makes the whole condition fail, whatever
// negations surround it (failing closed: the route or rule is not taken).
export function holds(e: Expr, src: VarSource): bool {
  const before = regexAborts();
  const r = e.eval(src);
  return r && regexAborts() == before;
}

// A group of expressions (items set) or one rule. One class rather than a
// class per kind: no virtual call per item, and less code for the
// collector and the constructors.
export class Expr {
  // A group: every item holds (or: any item holds). null for a rule.
  items: Array<Expr> | null = null;
  or: bool = false;
  negate: bool = false;
  name: string = "";
  op: Op = Op.Eq;
  value: JsonValue = JsonValue.null();
  // Right side pre-read as a number when it is one.
  numeric: bool = false;
  num: f64 = 0;
  list: Array<string> = new Array<string>();
  regex: Regex | null = null;
  cidrs: Array<Cidr> = new Array<Cidr>();

  eval(src: VarSource): bool {
    const items = this.items;
    let r: bool;
    if (items !== null) {
      // And: true until an item fails; Or: false until an item holds.
      const or = this.or;
      r = !or;
      for (let i = 0, n = items.length; i < n; i++) if (unchecked(items[i]).eval(src) == or) { r = or; break; }
    } else {
      r = this.test(src);
    }
    return this.negate ? !r : r;
  }

  private test(src: VarSource): bool {
    switch (this.op) {
      case Op.Has: {
        const all = src.getAll(this.name);
        if (all.length < 2) return false;
        const want = unchecked(this.list[0]);
        for (let i = 0; i < all.length; i++) if (unchecked(all[i]) == want) return true;
        return false;
      }
      default: break;
    }
    const l = src.get(this.name);
    switch (this.op) {
      case Op.Eq: {
        if (l === null) return this.value.isNull();
        if (this.numeric) { const n = toNumber(l); return !isNaN(n) && n == this.num; }
        return this.value.isString() && l == this.value.str;
      }
      case Op.Gt: case Op.Lt: case Op.Ge: case Op.Le: {
        if (l === null || !this.numeric) return false;
        const n = toNumber(l);
        if (isNaN(n)) return false;
        if (this.op == Op.Gt) return n > this.num;
        if (this.op == Op.Lt) return n < this.num;
        if (this.op == Op.Ge) return n >= this.num;
        return n <= this.num;
      }
      case Op.In: {
        if (l === null) return false;
        for (let i = 0; i < this.list.length; i++) if (unchecked(this.list[i]) == l) return true;
        return false;
      }
      case Op.Match: case Op.MatchCi: {
        if (l === null) return false;
        const re = this.regex;
        return re !== null && re.test(l);
      }
      case Op.IpMatch: {
        if (l === null) return false;
        for (let i = 0; i < this.cidrs.length; i++) if (unchecked(this.cidrs[i]).contains(l)) return true;
        return false;
      }
      default: return false;
    }
  }
}


// The end of the run of ASCII digits in t from k.
function digitsEnd(t: string, k: i32): i32 {
  while (k < t.length && t.charCodeAt(k) >= 0x30 && t.charCodeAt(k) <= 0x39) k++;
  return k;
}

// Lua's tonumber() on the variable: decimal or hex, surrounding spaces allowed.
export function toNumber(s: string): f64 {
  const t = s.trim();
  if (t.length == 0) return NaN;
  let i = 0;
  let neg = false;
  if (t.charCodeAt(0) == 0x2d) { neg = true; i = 1; }
  else if (t.charCodeAt(0) == 0x2b) i = 1;
  if (t.length > i + 2 && t.charCodeAt(i) == 0x30 && (t.charCodeAt(i + 1) | 0x20) == 0x78) {
    let v: f64 = 0;
    for (let k = i + 2; k < t.length; k++) {
      const d = hexVal(t.charCodeAt(k));
      if (d < 0) return NaN;
      v = v * 16 + <f64>d;
    }
    return neg ? -v : v;
  }
  // Strict decimal: digits, optional fraction, optional exponent.
  let k = digitsEnd(t, i);
  let digits = k - i;
  if (k < t.length && t.charCodeAt(k) == 0x2e) {
    const f = k + 1;
    k = digitsEnd(t, f);
    digits += k - f;
  }
  if (digits == 0) return NaN;
  if (k < t.length && (t.charCodeAt(k) | 0x20) == 0x65) {
    k++;
    if (k < t.length && (t.charCodeAt(k) == 0x2b || t.charCodeAt(k) == 0x2d)) k++;
    const e = k;
    k = digitsEnd(t, e);
    if (k == e) return NaN;
  }
  if (k != t.length) return NaN;
  return parseDecimal(t);
}

// lua-resty-expr spells "in" both ways.
const OPS: Array<string> = ["==", "~=", ">", "<", ">=", "<=", "in", "IN", "has", "~~", "~*", "ipmatch"];

function isLogic(v: JsonValue): bool {
  if (!v.isString()) return false;
  const s = v.str;
  return s == "AND" || s == "OR" || s == "!AND" || s == "!OR";
}

const MAX_EXPR_DEPTH = 16; // the message below spells it

// Compiles a `vars` array; null with errors recorded under `path`.
export function compileVars(v: JsonValue, path: string, issues: Issues): Expr | null {
  if (!v.isArray()) return fail(issues, path, "expected an array of expressions, got " + v.typeName());
  return compileList(v, path, issues, 0);
}

function compileList(v: JsonValue, path: string, issues: Issues, depth: i32): Expr | null {
  if (depth > MAX_EXPR_DEPTH) return fail(issues, path, "expressions nested deeper than 16");
  let start = 0;
  let negate = false, or = false;
  if (v.length > 0 && isLogic(v.at(0))) {
    const s = v.at(0).str;
    negate = s.startsWith("!");
    or = s.endsWith("OR");
    start = 1;
  } else if (v.length > 0 && !v.at(0).isArray()) {
    // A single rule written without the outer array: ["arg_x", "==", "1"].
    return compileRule(v, path, issues);
  }
  const items = new Array<Expr>();
  let ok = true;
  for (let i = start; i < v.length; i++) {
    const item = v.at(i);
    const p = indexed(path, i);
    if (!item.isArray()) { issues.error(p, "expected an expression array, got " + describe(item)); ok = false; continue; }
    let e: Expr | null;
    if (item.length > 0 && (item.at(0).isArray() || isLogic(item.at(0)))) e = compileList(item, p, issues, depth + 1);
    else e = compileRule(item, p, issues);
    if (e === null) ok = false; else items.push(e);
  }
  if (!ok) return null;
  const g = new Expr();
  g.items = items;
  g.negate = negate;
  g.or = or;
  return g;
}

function fail(issues: Issues, path: string, msg: string): Expr | null {
  issues.error(path, msg);
  return null;
}

function compileRule(v: JsonValue, path: string, issues: Issues): Expr | null {
  if (v.length < 2 || v.length > 4) {
    return fail(issues, path, "expected [var, value], [var, operator, value] or [var, \"!\", operator, value], got " + describe(v));
  }
  const name = v.at(0);
  if (!name.isString() || name.str.length == 0) return fail(issues, path + "[0]", "variable name must be a non-empty string");
  const r = new Expr();
  r.name = name.str;
  // lua-resty-expr: a two-element rule [var, value] compares with "==".
  let op = Op.Eq;
  let val = v.at(1);
  const opIdx = v.length - 2;
  if (opIdx > 0) {
    if (opIdx == 2) {
      if (!val.isString() || val.str != "!") return fail(issues, path + "[1]", "expected \"!\" in a 4-element expression");
      r.negate = true;
    }
    const opv = v.at(opIdx);
    const k = opv.isString() ? OPS.indexOf(opv.str) : -1;
    if (k < 0) return fail(issues, indexed(path, opIdx), "unknown operator " + describe(opv) + " (supported: " + OPS.join(" ") + ")");
    // OPS in Op's order, with "IN" beside "in"
    op = <Op>(k < 7 ? k : k - 1);
    val = v.at(opIdx + 1);
  }
  // ~= is == negated in every case (nil, number, string): compiled so.
  if (op == Op.Ne) r.negate = !r.negate;
  r.op = op == Op.Ne ? Op.Eq : op;
  // Kept for the request path: its own copy, not the whole document's table.
  r.value = val.detached();
  if (val.isNumber()) { r.numeric = true; r.num = val.num; }
  // The operator's name in messages ("in" for both spellings).
  const opName = unchecked(OPS[op < Op.In + 1 ? op : op + 1]);
  let need = "";
  switch (op) {
    case Op.Gt: case Op.Lt: case Op.Ge: case Op.Le: {
      if (val.isString()) {
        const n = toNumber(val.str);
        if (!isNaN(n)) { r.numeric = true; r.num = n; }
      }
      if (!r.numeric) need = "a number";
      break;
    }
    case Op.In: {
      if (!val.isArray()) { need = "an array"; break; }
      for (let i = 0; i < val.length; i++) {
        const item = val.at(i);
        // Lua compares with ==, so a number never equals the (string) variable.
        if (item.isString()) r.list.push(item.str);
      }
      break;
    }
    case Op.Has: {
      // The operand's text, once: list is otherwise unused by has.
      r.list.push(val.isString() ? val.str : val.toJSON());
      break;
    }
    case Op.Match: case Op.MatchCi: {
      if (!val.isString()) { need = "a regex string"; break; }
      const re = Regex.compile(val.str, op == Op.MatchCi);
      if (re === null) return fail(issues, path, "invalid regex " + describe(val) + ": " + lastRegexError());
      r.regex = re;
      break;
    }
    case Op.IpMatch: {
      const list = new Array<string>();
      if (val.isString()) list.push(val.str);
      else if (val.isArray()) { for (let i = 0; i < val.length; i++) if (val.at(i).isString()) list.push(val.at(i).str); }
      for (let i = 0; i < list.length; i++) {
        const c = Cidr.parse(list[i]);
        if (c === null) return fail(issues, path, "invalid IP or CIDR " + list[i]);
        r.cidrs.push(c);
      }
      if (list.length == 0) return fail(issues, path, "operator ipmatch needs an IP/CIDR or a list of them");
      break;
    }
    default: break;
  }
  if (need.length) return fail(issues, path, "operator " + opName + " needs " + need + ", got " + describe(val));
  // The two-element form takes any value (an object never equals a string).
  if (opIdx > 0 && val.kind == JsonKind.Object) return fail(issues, path, "value must not be an object");
  return r;
}
