// Field rules written as text and checked by one interpreter (check) instead
// of a read-check-report sequence compiled for every field: the rules of the
// configuration are data, and data costs the .wasm far less than code (a
// schema's text goes into the packed string catalogue, see docs/size.md).
//
//   "name rule;  name rule;  name object { name rule; ... }"
//
// (written one rule per line with a "\" at each line's end, which continues
// the string literal). Words are separated by white space; `;` ends a rule,
// `{` `}` hold an object's members.
//
// Rules, each with the message it reports (at "<path>.<name>"):
//   (nothing)            allowed, not checked here
//   string               "expected a string, got <type>"
//   boolean              "expected a boolean, got <type>"
//   integer MIN MAX      "expected an integer, got <value>", "... to be at least MIN" / "at most MAX"
//   enum A B C           "<value> matches none of the enum values [A, B, C]"
//   number > N, number >= N
//                        "expected a number > N, got <value>"
//   seconds              required: "is required", "expected a number of seconds, got <type>",
//                        "expected <value> to be greater than 0"
//   id                   an object id (errors.ts readId)
//   certificate          a PEM certificate, private-key a PEM private key (errors.ts checkPem)
//   status-codes         a non-empty list of distinct HTTP statuses 200-599
//   header-lines         a list of "Name: value" strings
//   object { ... }       "expected an object, got <type>"; then its members:
//                        unknown ones rejected, the others by the rules
//                        inside the braces, in their order; without braces
//                        any members (not checked here)
// `bare` at the end of a rule leaves the value out of its message
// ("expected a boolean", "expected an object").
//
// Rules run in the order written, so the order of the errors a document gets
// is the order of the lines. A member that is absent is not checked (defaults
// are the reader's business, see intOf and friends).

import { JsonKind, JsonValue } from "../json";
import { Issues, indexed, boolMember, checkKeys, checkPem, describe, enumString, intMember, optString, readId } from "./errors";
import { parseDecimal } from "../numparse";
import { splitChar } from "../ascii";

const enum Kind { Any, String, Boolean, Integer, Enum, Number, Seconds, Id, Certificate, PrivateKey, StatusCodes, HeaderLines, Object }

// One rule; an object rule (and a whole schema, the object at its top)
// holds its members' rules. One class for both: each class is one more
// case in the collector's member visitor.
class Rule {
  name: string = "";
  kind: Kind = Kind.Object;
  // integer: the range; number: the bound (lo) and whether it is excluded.
  lo: f64 = 0;
  hi: f64 = 0;
  above: bool = false;
  bound: string = "";
  bare: bool = false;
  // enum: the values. object: the member names, for checkKeys (a key
  // list's words, see listOf, else the members' names, made on first use).
  values: Array<string> | null = null;
  // object: the members' rules; null for an object of any members.
  members: Array<Rule> | null = null;

  get names(): Array<string> {
    let k = this.values;
    if (k === null) {
      k = new Array<string>();
      const m = changetype<Array<Rule>>(this.members);
      for (let i = 0; i < m.length; i++) k.push(m[i].name);
      this.values = k;
    }
    return k;
  }
}

// Parsed schemas and key lists by the identity of their text: each is a
// literal, one string for the life of the module, read once. A cached
// rule's name is that text (the top of a schema has no name of its own).
const cache = new Array<Rule>();

function cached(text: string): Rule | null {
  for (let i = 0, n = cache.length; i < n; i++) {
    const s = unchecked(cache[i]);
    if (changetype<usize>(s.name) == changetype<usize>(text)) return s;
  }
  return null;
}

function remember(text: string, s: Rule): Rule {
  s.name = text;
  cache.push(s);
  return s;
}

// A schema's text may come in up to three literals: the string catalogue
// keeps texts of at most 255 bytes compact (one-byte lengths), and a larger
// one would cost every other text three more bytes.
function schemaOf(first: string, second: string, third: string): Rule {
  const known = cached(first);
  if (known !== null) return known;
  const text = first + second + third;
  const s = new Rule();
  s.members = new Array<Rule>();
  // Nested objects are read with an explicit stack: the depth is the schema's, not a document's.
  const stack: Array<Rule> = [s];
  // In the order of Kind.
  const kinds = listOf("any string boolean integer enum number seconds id certificate private-key status-codes header-lines object");
  let words = new Array<string>();
  let from = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x3b;
    const stop = c == 0x3b || c == 0x7b || c == 0x7d; // ; { }
    if (c > 0x20 && !stop) { if (from < 0) from = i; continue; }
    if (from >= 0) { words.push(text.substring(from, i)); from = -1; }
    if (!stop) continue;
    const rules = changetype<Array<Rule>>(stack[stack.length - 1].members);
    if (words.length) {
      rules.push(ruleOf(words, kinds));
      words = new Array<string>();
    }
    if (c == 0x7b) {
      // The members of the rule just read.
      const m = rules[rules.length - 1];
      m.members = new Array<Rule>();
      stack.push(m);
    } else if (c == 0x7d) stack.pop();
  }
  return remember(first, s);
}

function ruleOf(words: Array<string>, kinds: Array<string>): Rule {
  const r = new Rule();
  r.name = words[0];
  // A name alone: allowed, checked by code or not at all.
  const k = words.length > 1 ? kinds.indexOf(words[1]) : Kind.Any;
  // A misspelt rule fails every configure, in the first test that runs.
  if (k < 0) unreachable();
  r.kind = <Kind>k;
  let n = words.length;
  if (words[n - 1] == "bare") { r.bare = true; n--; }
  if (r.kind == Kind.Integer) { r.lo = parseDecimal(words[2]); r.hi = parseDecimal(words[3]); }
  else if (r.kind == Kind.Number) { r.above = words[2] == ">"; r.bound = words[3]; r.lo = parseDecimal(words[3]); }
  else if (r.kind == Kind.Enum) {
    const values = new Array<string>();
    for (let i = 2; i < n; i++) values.push(words[i]);
    r.values = values;
  }
  return r;
}

// The words of `text` (names separated by one space), split once.
export function listOf(text: string): Array<string> {
  let s = cached(text);
  if (s === null) {
    s = new Rule();
    s.values = splitChar(text, 0x20);
    remember(text, s);
  }
  return s.names;
}

// Checks the members of obj that the schema names; true when none had an error.
export function check(obj: JsonValue, path: string, issues: Issues, text: string, more: string = "", evenMore: string = ""): bool {
  const before = issues.count;
  run(obj, schemaOf(text, more, evenMore), path, issues);
  return issues.count == before;
}

// check, after rejecting the members the schema does not name.
export function checkObject(obj: JsonValue, path: string, issues: Issues, text: string, more: string = "", evenMore: string = ""): bool {
  const before = issues.count;
  const s = schemaOf(text, more, evenMore);
  checkKeys(obj, s.names, path, issues);
  run(obj, s, path, issues);
  return issues.count == before;
}

function run(obj: JsonValue, s: Rule, path: string, issues: Issues): void {
  const rules = changetype<Array<Rule>>(s.members);
  for (let i = 0; i < rules.length; i++) {
    const r = unchecked(rules[i]);
    const v = obj.get(r.name);
    let msg = "";
    if (v === null) {
      if (r.kind == Kind.Seconds) msg = "is required";
    } else switch (r.kind) {
      // The plain kinds are errors.ts's readers (one owner per message);
      // their value is not needed here.
      case Kind.String:
        optString(obj, r.name, path, issues);
        break;
      case Kind.Boolean:
        if (r.bare) { if (!v.isBool()) msg = "expected a boolean"; }
        else boolMember(v, r.name, path, issues);
        break;
      case Kind.Integer:
        intMember(v, r.name, path, issues, 0, <i64>r.lo, <i64>r.hi);
        break;
      case Kind.Enum:
        enumString(obj, r.name, changetype<Array<string>>(r.values), path, issues, "");
        break;
      case Kind.Number:
        if (!v.isNumber() || (r.above ? v.num <= r.lo : v.num < r.lo)) {
          msg = "expected a number " + (r.above ? "> " : ">= ") + r.bound;
          if (!r.bare) msg += ", got " + describe(v);
        }
        break;
      case Kind.Seconds:
        if (!v.isNumber()) msg = "expected a number of seconds, got " + v.typeName();
        else if (!(v.num > 0)) msg = "expected " + describe(v) + " to be greater than 0";
        break;
      case Kind.HeaderLines:
        if (!v.isArray()) msg = "expected an array of \"Name: value\" strings";
        else for (let k = 0; k < v.length; k++) if (v.kindAt(k) != JsonKind.String) issues.error(indexed(path + "." + r.name, k), "expected a string");
        break;
      case Kind.Any:
        break;
      default: {
        // The rules that report at paths of their own (list items, nested members).
        const p = path + "." + r.name;
        if (r.kind == Kind.Id) readId(v, p, issues);
        else if (r.kind == Kind.Certificate) checkPem(v, "CERTIFICATE", 128, p, issues);
        else if (r.kind == Kind.PrivateKey) checkPem(v, "PRIVATE KEY", 64, p, issues);
        else if (r.kind == Kind.StatusCodes) statusCodes(v, p, issues);
        else if (!v.isObject()) issues.error(p, r.bare ? "expected an object" : "expected an object, got " + v.typeName());
        else if (r.members !== null) {
          checkKeys(v, r.names, p, issues);
          // The depth is the schema's (a few levels), never the document's.
          run(v, r, p, issues);
        }
      }
    }
    if (msg.length) issues.error(path + "." + r.name, msg);
  }
}

// A list of HTTP statuses as health checks take them; the valid ones,
// each once (an error names every other item).
export function statusCodes(v: JsonValue, path: string, issues: Issues): Array<i32> {
  const out = new Array<i32>();
  if (!v.isArray() || v.length < 1) { issues.error(path, "expected a non-empty array of HTTP status codes"); return out; }
  for (let i = 0; i < v.length; i++) {
    const s = v.at(i);
    if (!s.isInteger() || s.num < 200 || s.num > 599) { issues.error(indexed(path, i), "expected a status code 200-599, got " + describe(s)); continue; }
    const code = <i32>s.num;
    if (out.includes(code)) { issues.error(path, "status " + code.toString() + " listed twice"); continue; }
    out.push(code);
  }
  return out;
}

// Readers of members a schema has checked already: the member's value, or
// `def` when it is absent (or, in a document with errors, invalid: such a
// document is rejected whatever is read from it).
export function intOf(obj: JsonValue | null, key: string, def: i64): i64 {
  const v = obj !== null ? obj.get(key) : null;
  return v !== null && v.isNumber() ? <i64>v.num : def;
}

export function numOf(obj: JsonValue | null, key: string, def: f64): f64 {
  const v = obj !== null ? obj.get(key) : null;
  return v !== null && v.isNumber() ? v.num : def;
}

export function strOf(obj: JsonValue | null, key: string, def: string): string {
  const v = obj !== null ? obj.get(key) : null;
  return v !== null && v.isString() ? v.str : def;
}

export function boolOf(obj: JsonValue | null, key: string, def: bool): bool {
  const v = obj !== null ? obj.get(key) : null;
  return v !== null && v.isBool() ? v.bool : def;
}
