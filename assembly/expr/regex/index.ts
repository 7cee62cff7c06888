// Linear-time regular expressions for APISIX route `vars` operators
// `~~` (case-sensitive) and `~*` (case-insensitive).
//
// APISIX evaluates these with ngx.re.find(subject, pattern, "jo"), i.e. PCRE
// in byte (non-UTF) mode, search semantics (a match anywhere unless anchored).
// This module implements that subset of PCRE without backtracking, so that a
// route regex can never be used for ReDoS.
//
// ─── API ────────────────────────────────────────────────────────────────────
//   Regex.compile(pattern, caseInsensitive = false): Regex | null
//       Parses and compiles once (configure time). On error returns null and
//       the message is available from lastRegexError(). Never traps.
//   regex.test(input: string): bool
//       Search semantics: true if the pattern matches some substring of the
//       UTF-8 encoding of `input` (U+DC80..U+DCFF, headers.ts's escapes for
//       bytes that were not valid UTF-8, as those bytes; other lone
//       surrogates encoded WTF-8 style, like
//       String.UTF8.encode's default), respecting ^ / $ / \A / \z / \Z.
//   regex.testBytes(data: Uint8Array): bool   — same, over raw bytes
//   regex.testBuffer(data: ArrayBuffer): bool — same, over raw bytes
//   lastRegexError(): string  — message of the last failed compile ("" after
//       a successful one). Format: "<message> at offset <byte offset>" for
//       syntax errors, or a plain message for the global limits.
//
// ─── Supported syntax (PCRE semantics, byte mode) ──────────────────────────
//   literals; any non-alphanumeric escaped char (\. \\ \/ \- \{ ...)
//   \t \n \r \f \e \a, \xHH, \x{HH} (≤ 0xFF), \0oo and \ooo (octal, where
//       PCRE reads octal rather than a backreference), \cX
//   \d \D \w \W \s \S (ASCII, C locale; \s includes \v=0x0B), \h \H \v \V, \N
//   .  (any byte except \n; any byte under (?s))
//   [abc] [a-z0-9_] [^...] with escapes, POSIX [:alpha:] / [:^alpha:] names;
//       ']' first is literal, '-' first/last is literal, '-' next to a class
//       escape is literal (PCRE1 behaviour, e.g. [\w-.]); \b in a class = 0x08
//   ^ $ (non-multiline: $ also matches before a final \n, as in PCRE),
//       \A \z \Z \b \B; under (?m) ^ / $ are line anchors
//   | ( ) (?: ) named groups (?<n> ) (?P<n> ) (?'n' ) — treated as plain groups
//   * + ? {m} {m,} {m,n}, lazy forms *? +? ?? {..}? (same match/no-match result)
//   inline flags (?i) (?s) (?m) (?-i) (?i: ...) anywhere (scoped to the
//       enclosing group, like PCRE); U, J, n flags accepted and ignored
//   (?# comment ) — transparent: "a(?#c)+" repeats "a"
//   '{' that does not start a quantifier (e.g. "/{id}") is a literal, like PCRE.
//
// ─── Rejected with an error (never a trap) ─────────────────────────────────
//   backreferences (\1 \g \k (?P=n)), lookahead/lookbehind, atomic groups,
//   possessive quantifiers, recursion/subroutines, conditionals, branch reset,
//   (*VERBS), (?x), \p \P \X \R \G \K \Q \E and other unknown letter escapes,
//   unbalanced ( ) and [ ], dangling quantifiers, nested quantifiers (a**),
//   quantifiers on assertions (^* \b? — PCRE2 rejects these too), a{2}{3},
//   [z-a], {n,m} with n>m, malformed {digits...}, "{,n}" (means {0,n} in new
//   PCRE2 but a literal in PCRE1: ambiguous), non-ASCII bytes inside [...]
//   (write them as \xHH if byte semantics are really intended), octal values
//   above \377, \N{name}, POSIX collating elements [[.x.]] [[=x=]].
//   Known stricter-than-PCRE limits: repeat counts ≤ 1000 (PCRE: 65535), and
//   \NN (NN ≥ 10) is read as octal only if NN exceeds the number of '(' in
//   the pattern, else rejected as a backreference.
//
// ─── Semantics notes ───────────────────────────────────────────────────────
//   * Matching is over bytes. '.' and [^...] match exactly one byte, so '.'
//     does not match a whole multi-byte UTF-8 character; a quantifier after a
//     non-ASCII literal applies to its last byte. This is exactly what PCRE
//     does without the "u" flag (APISIX uses "jo").
//   * Case-insensitivity folds ASCII letters only (PCRE default C tables).
//
// ─── Limits ────────────────────────────────────────────────────────────────
//   pattern ≤ 4096 bytes, group nesting ≤ 100, repeat counts ≤ 1000,
//   compiled program ≤ 5000 instructions, so a literal of the maximum length
//   fits (counted before expansion, so a huge nested repeat fails cleanly
//   without allocating), and per request REQUEST_REGEX_BUDGET VM steps
//   across all matches (see below).
//
// ─── Complexity ────────────────────────────────────────────────────────────
//   Compile: O(pattern + program). Match: Pike VM (Thompson NFA simulation).
//   For each input position every program counter is put at most once into
//   the thread list (sparse set) and followed at most once in the epsilon
//   closure, so a search costs O(program × input) time and O(program) space,
//   with no backtracking and no recursion. All buffers (two sparse sets, the
//   closure stack) are allocated at compile time and reused; test(string)
//   encodes into a module-level scratch buffer that only grows (inputs over
//   16M UTF-16 units use a one-off buffer). Not re-entrant (Wasm filters are
//   single-threaded). For unanchored patterns whose matches cannot be empty,
//   the set of possible first bytes is precomputed and positions where no
//   thread is alive are skipped with a bitmap test per byte.

export { MAX_NESTING_DEPTH, MAX_PATTERN_LENGTH, MAX_PROGRAM_SIZE, MAX_REPEAT } from "./ast";
export { lastRegexError } from "./compile";
export { REQUEST_REGEX_BUDGET, Regex, regexAborts, regexBudgetExceeded, resetRegexBudget } from "./vm";
