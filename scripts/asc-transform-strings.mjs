// asc --transform: store the filter's long string literals once, as UTF-8.
//
// Why: AssemblyScript lays out every static string as UTF-16 behind a 20-byte
// object header, 16-byte aligned, and Binaryen then cuts each one into
// separate data segments (7 or so bytes of segment framing apiece). The
// filter's strings are mostly ASCII messages users read (config validation,
// regex parse errors, APISIX's log lines), so the release .wasm carried each
// of them at more than twice its length. This transform keeps the messages in
// the source where they are used (one owner per fact) and changes only how the
// binary stores them: every replaced literal becomes `__apisix_str(i)`, which
// returns the i-th entry of one UTF-8 catalogue, decoded on first use and
// pinned, so later uses (a request's hot path included) cost a load and a
// branch and allocate nothing.
//
// Where it replaces: function bodies, field initializers (instance and
// static), and top-level variable initializers and statements, in the
// project's sources and in the proxy-wasm SDK's (its log texts are the
// project's to store). A top-level `const X = "..."` then becomes a global
// set once by the start function; the hot path reads a global where it read a
// constant, which callgrind does not tell apart from noise, and a top-level
// key list becomes an array built at start instead of a static one.
//
// What is left alone, so the program means the same with or without it (the
// as-pect specs compile the same sources without the transform):
//  - parameter defaults, decorators (`@external("env", ...)`), import/export
//    paths, and arguments of builtins that need compile-time constants
//    (offsetof, ERROR, ...);
//  - the empty string (~lib hands out its own static "" everywhere), and
//    strings that are not well-formed UTF-16 (a lone surrogate has no UTF-8
//    form);
//  - any text that also occurs somewhere it cannot be replaced, or in the
//    standard library: an identical literal then stays one static string
//    everywhere, so `===` on a literal means what it meant before.
// Equal texts share one catalogue entry, hence one string object after the
// first use.
//
// Short literals are replaced too: counted by callgrind, a request costs the
// same with 1- to 3-byte literals in the catalogue as without them (21.5k
// instructions either way), and the binary is about 1 KB smaller.
//
// Options (environment, for measurements): APISIX_STR_MIN (shortest literal
// taken, in UTF-8 bytes; default 1), APISIX_STR_OFF=1 to disable,
// APISIX_STR_TOP=0 to leave top-level and static initializers alone,
// APISIX_STR_SDK=0 to leave the SDK's sources alone (the layout before),
// APISIX_STR_DUMP=file to write the catalogue's texts in index order (JSON),
// to tell which text a `__apisix_str(i)` in a .wat is.
import { writeFileSync } from "node:fs";
import { Transform } from "assemblyscript/transform";
import { CommonFlags, LiteralKind, Node, NodeKind } from "assemblyscript";

const DEFAULT_MIN_BYTES = 1;
const CATALOGUE_PATH = "assembly/__strings_catalogue.ts";
const FN = "__apisix_str";
const TOP = process.env.APISIX_STR_TOP !== "0";
const PROJECT = process.env.APISIX_STR_SDK !== "0" ? /^(assembly\/(?!__tests__\/)|~lib\/@solo-io\/proxy-runtime\/assembly\/)/ : /^assembly\/(?!__tests__\/)/;
// Builtins whose string arguments must stay compile-time constants.
const CONSTANT_CALLEES = new Set(["offsetof", "nameof", "idof", "ERROR", "WARNING", "INFO", "isDefined", "sizeof", "alignof", "lengthof"]);
// Statement kinds whose strings are module paths, never values.
const PATH_KINDS = new Set([NodeKind.Import, NodeKind.Export, NodeKind.ExportImport, NodeKind.ExportMember, NodeKind.ImportDeclaration]);

const isNode = (v) => v !== null && typeof v === "object" && typeof v.kind === "number" && v.range !== undefined;
const isString = (n) => n.kind === NodeKind.Literal && n.literalKind === LiteralKind.String;

/**
 * Visit every string literal under `node`, telling `visit(literal, replaceable, holder, key)`
 * whether it sits where a call may stand. `holder[key]` is the slot that holds it.
 */
function walk(node, inBody, visit) {
  if (PATH_KINDS.has(node.kind)) return;
  for (const key of Object.keys(node)) {
    if (key === "range" || key === "decorators") continue;
    let body = inBody;
    if (node.kind === NodeKind.FunctionDeclaration || node.kind === NodeKind.MethodDeclaration) {
      if (key !== "body")
        body = false; // signature: parameter defaults, types
      else body = true;
    } else if (node.kind === NodeKind.FieldDeclaration && key === "initializer") {
      body = TOP || (node.flags & CommonFlags.Static) === 0;
    } else if (TOP && node.kind === NodeKind.VariableDeclaration && key === "initializer") {
      body = true;
    } else if (TOP && node.kind === NodeKind.Expression) {
      body = true;
    } else if (node.kind === NodeKind.Call && key === "args" && node.expression.kind === NodeKind.Identifier && CONSTANT_CALLEES.has(node.expression.text)) {
      body = false;
    }
    const v = node[key];
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!isNode(v[i])) continue;
        if (isString(v[i])) visit(v[i], body, v, i);
        else walk(v[i], body, visit);
      }
    } else if (isNode(v)) {
      if (isString(v)) visit(v, body, node, key);
      else walk(v, body, visit);
    }
  }
}

// The catalogue is packed with a byte-oriented LZ77 (the messages repeat
// words and phrases: 10.8 KB pack to 4.6 KB), unpacked in one pass into
// zero-filled static memory on the first lookup. Token bytes:
//   0x00-0x7f  that ASCII byte;            0xc0 b  the byte b (non-ASCII UTF-8);
//   0x80-0xbf  then a u16 position p:      copy (t & 0x3f) + 3 bytes from p;
//   0xc1-0xff  then a byte d, v = t - 0xc1: copy v % 7 + 3 bytes from
//              ((v / 7) << 8 | d) + 1 bytes back (short and near: 2 bytes).
const LONG_MAX = 0x3f + 3;
const SHORT_MAX = 6 + 3;
const NEAR = 9 << 8;

/** LZ77-pack `bytes`: at each position the earlier match that saves the most bytes. */
export function pack(bytes) {
  const out = [];
  const seen = new Map(); // 3-byte prefix -> earlier positions
  const key = (p) => bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16);
  const remember = (p) => {
    if (p + 3 > bytes.length) return;
    const k = key(p);
    const list = seen.get(k);
    if (list) list.push(p);
    else seen.set(k, [p]);
  };
  for (let i = 0; i < bytes.length; ) {
    let gain = 0,
      len = 0,
      from = 0;
    const consider = (l, p) => {
      const g = l - (l <= SHORT_MAX && i - p <= NEAR ? 2 : 3);
      if (g > gain || (g === gain && l > len)) [gain, len, from] = [g, l, p];
    };
    if (i + 3 <= bytes.length) {
      for (const p of seen.get(key(i)) ?? []) {
        let l = 0;
        while (i + l < bytes.length && l < LONG_MAX && bytes[p + l] === bytes[i + l]) l++;
        consider(l, p);
        if (l > SHORT_MAX && i - p <= NEAR) consider(SHORT_MAX, p);
      }
    }
    if (gain > 0) {
      if (len <= SHORT_MAX && i - from <= NEAR) {
        const d = i - from - 1;
        out.push(0xc1 + (d >> 8) * 7 + (len - 3), d & 0xff);
      } else out.push(0x80 | (len - 3), from & 0xff, from >> 8);
      for (let k = 0; k < len; k++) remember(i + k);
      i += len;
    } else {
      if (bytes[i] >= 0x80) out.push(0xc0);
      out.push(bytes[i]);
      remember(i);
      i++;
    }
  }
  return out;
}

function catalogueSource(texts) {
  const blobs = texts.map((t) => Buffer.from(t, "utf8"));
  const bytes = Buffer.concat(blobs);
  const total = bytes.length;
  // Positions are u16: a larger catalogue is stored unpacked.
  const packed = total <= 0xffff ? pack(bytes) : null;
  const L = blobs.every((b) => b.length <= 0xff) ? "u8" : "u32";
  const LS = L === "u8" ? 0 : 2;
  const unpack = packed
    ? `const PACKED = memory.data<u8>([${packed.join(",")}]);
const TEXT = memory.data(${total});
let unpacked = false;

function unpack(): void {
  let src = PACKED;
  const end = PACKED + ${packed.length};
  let dst = TEXT;
  while (src < end) {
    const t = <u32>load<u8>(src++);
    if (t < 0x80) {
      store<u8>(dst++, t);
    } else if (t == 0xc0) {
      store<u8>(dst++, load<u8>(src++));
    } else if (t < 0xc0) {
      let from = TEXT + <usize>load<u16>(src);
      src += 2;
      for (let n = (t & 0x3f) + 3; n > 0; n--) store<u8>(dst++, load<u8>(from++));
    } else {
      const v = t - 0xc1;
      let from = dst - (((<usize>(v / 7) << 8) | <usize>load<u8>(src++)) + 1);
      for (let n = v % 7 + 3; n > 0; n--) store<u8>(dst++, load<u8>(from++));
    }
  }
  unpacked = true;
}
`
    : `const TEXT = memory.data<u8>([${bytes.join(",")}]);
const unpacked = true;
function unpack(): void {}
`;
  return `// Generated by scripts/asc-transform-strings.mjs: ${texts.length} string literals, ${total} UTF-8 bytes${packed ? `, packed to ${packed.length}` : ""}.
${unpack}const LENGTHS = memory.data<${L}>([${blobs.map((b) => b.length).join(",")}]);
// One pointer per entry, 0 until first use; the decoded string is pinned.
const CACHE = memory.data(${texts.length * 4}, 4);

function decode(i: i32): string {
  if (!unpacked) unpack();
  let start: usize = 0;
  for (let j = 0; j < i; j++) start += <usize>load<${L}>(LENGTHS + (<usize>j << ${LS}));
  const s = String.UTF8.decodeUnsafe(TEXT + start, <usize>load<${L}>(LENGTHS + (<usize>i << ${LS})));
  store<usize>(CACHE + (<usize>i << 2), __pin(changetype<usize>(s)));
  return s;
}

@global export function ${FN}(i: i32): string {
  const p = load<usize>(CACHE + (<usize>i << 2));
  if (p != 0) return changetype<string>(p);
  return decode(i);
}
`;
}

export default class StringCatalogue extends Transform {
  afterParse(parser) {
    if (process.env.APISIX_STR_OFF === "1") return;
    const minBytes = Number(process.env.APISIX_STR_MIN ?? DEFAULT_MIN_BYTES);
    const pinned = new Set(); // texts that must stay static strings
    const sites = [];
    for (const source of parser.sources) {
      const own = PROJECT.test(source.normalizedPath);
      for (const st of source.statements) {
        const visit = (lit, replaceable, holder, key) => {
          if (own && replaceable) sites.push({ lit, holder, key });
          else pinned.add(lit.value);
        };
        if (isString(st)) continue;
        walk(st, false, visit);
      }
    }
    const taken = sites.filter(({ lit }) => {
      const t = lit.value;
      return !pinned.has(t) && Buffer.byteLength(t, "utf8") >= minBytes && t.isWellFormed();
    });
    // The most used texts get the lowest indices: below 128 an index is one
    // byte of LEB128 at every call site.
    const uses = new Map();
    for (const { lit } of taken) uses.set(lit.value, (uses.get(lit.value) ?? 0) + 1);
    const texts = [...uses.keys()].sort((a, b) => uses.get(b) - uses.get(a));
    const index = new Map(texts.map((t, i) => [t, i]));
    for (const { lit, holder, key } of taken) {
      const r = lit.range;
      holder[key] = Node.createCallExpression(
        Node.createIdentifierExpression(FN, r),
        null,
        [Node.createIntegerLiteralExpression(globalThis.i64_new(index.get(lit.value), 0), r)],
        r,
      );
    }
    const replaced = taken.length;
    if (texts.length === 0) return;
    parser.parseFile(catalogueSource(texts), CATALOGUE_PATH, false);
    if (process.env.APISIX_STR_DUMP) writeFileSync(process.env.APISIX_STR_DUMP, JSON.stringify(texts));
    if (process.env.APISIX_STR_VERBOSE === "1") {
      process.stderr.write(
        `asc-transform-strings: ${replaced} literals → ${texts.length} catalogue entries (${texts.reduce((a, t) => a + Buffer.byteLength(t), 0)} B), ${pinned.size} texts kept static\n`,
      );
    }
  }
}
