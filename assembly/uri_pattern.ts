// A route uri as lua-resty-radixtree files it (resty/radixtree.lua,
// pre_insert_route and fetch_pat), so that every APISIX router mode reads
// uris the same way:
//
//   "/a/b"            exact: a hash lookup.
//   "/a/*"            prefix "/a/".
//   "/files/*path"    prefix "/files/" plus a segment pattern: a `*` that is
//                     not the last character is a parameter, in every router.
//   "/user/:id/x"     with radixtree_uri_with_parameter only: prefix "/user/"
//                     plus a segment pattern. Other routers read ':' literally.
//
// radixtree turns a parameter uri into a PCRE by splitting it on '/': a
// segment starting with ':' becomes ([^/]+), one starting with '*' becomes
// ((.|\n)*), and the match must cover the whole path. Here the same pattern
// is matched segment by segment without a regex: ':' takes one non-empty
// segment, '*' one or more whole segments (an empty one included: "/files/"
// matches "/files/*path"), anything else must equal the segment. Two known
// differences, both in APISIX's favour of the literal reading: radixtree
// pastes literal segments into the PCRE unescaped (so "v1.0" there also
// matches "v1x0"), and a parameter uri with no ':' or '*' segment (such as
// "/a/x*y") is, as there, just its prefix.

const LITERAL: u8 = 0;
const ONE_SEGMENT: u8 = 1; // ':name'
const SEGMENTS: u8 = 2; // '*name'

class Segment {
  constructor(public kind: u8, public text: string) {}
}

export class UriPattern {
  segments: Array<Segment> = new Array<Segment>();

  // Anchored at both ends; the time is O(path segments × pattern segments)
  // at worst (one backtrack point, the last '*'), without recursion.
  matches(path: string): bool {
    const segs = this.segments;
    const m = segs.length;
    const n = path.length;
    let k = 0; // next pattern segment
    let i = 0; // start of the next path segment
    let done = false; // the path's last segment has been taken
    let starK = -1; // the last '*' segment seen, to extend on a mismatch
    let starNext = 0;
    let starDone = false;
    while (true) {
      if (k == m && done) return true;
      if (k < m && !done) {
        const seg = unchecked(segs[k]);
        let e = path.indexOf("/", i);
        if (e < 0) e = n;
        let ok = true;
        if (seg.kind == SEGMENTS) {
          starK = k;
        } else if (seg.kind == ONE_SEGMENT) {
          ok = e > i;
        } else {
          ok = e - i == seg.text.length && equalAt(path, i, seg.text);
        }
        if (ok) {
          if (e == n) done = true;
          else i = e + 1;
          if (seg.kind == SEGMENTS) { starNext = i; starDone = done; }
          k++;
          continue;
        }
      }
      // Mismatch: give the last '*' one more path segment, or fail.
      if (starK < 0 || starDone) return false;
      let e = path.indexOf("/", starNext);
      if (e < 0) e = n;
      if (e == n) starDone = true;
      else starNext = e + 1;
      k = starK + 1;
      i = starNext;
      done = starDone;
    }
  }
}

function equalAt(s: string, at: i32, lit: string): bool {
  for (let j = 0, n = lit.length; j < n; j++) if (s.charCodeAt(at + j) != lit.charCodeAt(j)) return false;
  return true;
}

// Where the key under which radixtree files a uri ends: -1 for an exact uri
// (the whole uri is the key), else the prefix [0, cut) is the key. Returned
// as an index rather than a substring so that filing a uri allocates nothing.
export function uriCut(uri: string, withParameters: bool): i32 {
  if (withParameters) {
    const colon = uri.indexOf(":");
    if (colon >= 0) return colon;
  }
  return uri.indexOf("*");
}

// The segment pattern of a prefix uri cut at `cut` (see uriCut), or null
// when the prefix alone decides: a '*' that ends the uri, or no parameter
// segment after the cut.
export function uriPattern(uri: string, cut: i32): UriPattern | null {
  if (cut < 0) return null;
  const parameter = uri.charCodeAt(cut) == 0x3a || cut != uri.length - 1;
  return parameter ? segmentPattern(uri) : null;
}

// null when no segment is a parameter: the uri is then only its prefix.
function segmentPattern(uri: string): UriPattern | null {
  const p = new UriPattern();
  let any = false;
  let start = 0;
  const n = uri.length;
  while (start <= n) {
    let e = uri.indexOf("/", start);
    if (e < 0) e = n;
    const text = uri.substring(start, e);
    let kind = LITERAL;
    if (text.length && text.charCodeAt(0) == 0x3a) kind = ONE_SEGMENT;
    else if (text.length && text.charCodeAt(0) == 0x2a) kind = SEGMENTS;
    if (kind != LITERAL) any = true;
    p.segments.push(new Segment(kind, text));
    start = e + 1;
  }
  // ngx.re.split drops trailing empty items, and fetch_pat then restores
  // one '/' when the uri ends with one.
  const segs = p.segments;
  while (segs.length > 1 && segs[segs.length - 1].kind == LITERAL && segs[segs.length - 1].text.length == 0) segs.pop();
  if (uri.endsWith("/")) segs.push(new Segment(LITERAL, ""));
  return any ? p : null;
}
