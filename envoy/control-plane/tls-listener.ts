// APISIX server ssls → Envoy's HTTPS listener and its SDS secrets, pure.
//
// One filter chain per usable server ssl (name `ssl.<id>`), each with the
// same HCM as the plain listener and a DownstreamTlsContext that names its
// certificates and client CA as SDS secrets delivered over the ADS stream.
// So a certificate change only changes a Secret (Envoy swaps it under the
// running chain; established connections stay), and no key ever appears in
// the listener.
//
// The chain is chosen by a filter_chain_matcher on the SNI that reproduces
// APISIX's radixtree_sni (apisix/ssl/router/radixtree_sni.lua):
//   - SNIs lower-cased, a trailing dot removed, compared case-insensitively;
//   - exact names before wildcards; `*.example.org` covers exactly one
//     label (a.example.org, not a.b.example.org and not example.org) —
//     Envoy's own server_names wildcard would cover any depth, hence the
//     matcher and its regexes instead of filter_chain_match;
//   - `*` alone matches every SNI;
//   - an SNI no ssl matches: no certificate, the handshake fails (the
//     matcher names a chain that does not exist → Envoy closes);
//   - no SNI at all: the chain of APISIX's `apisix.ssl.fallback_sni` if
//     one is configured (and matches an ssl), else the handshake fails.
// Every ssl object is validated alone (node:crypto: PEM parses, key type
// Envoy accepts, key matches certificate, CA parses); a bad one is dropped
// with an error naming it and the others keep serving, so one bad
// certificate never makes Envoy NACK the LDS or SDS update.
import crypto from "node:crypto";
import { isObj, type ApisixConfig } from "./apisix/index.ts";
import { TYPE_URL } from "./protos.ts";

type Json = Record<string, unknown>;
interface Issue {
  severity: "error" | "warning";
  path: string;
  message: string;
}

const T = {
  downstreamTls: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
  tlsInspector: "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
  serverNameInput: "type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.ServerNameInput",
  stringValue: "type.googleapis.com/google.protobuf.StringValue",
};

export const TLS_DEFAULTS = {
  /** APISIX's default HTTPS port. */
  port: 9443,
  name: "apisix_https",
};

/** The name the matcher selects for an SNI no ssl covers; no chain has it, so Envoy closes the connection. */
export const NO_CERTIFICATE = "no-certificate-for-sni";

export interface TlsListenerOptions {
  port: number;
  address: string;
  name?: string;
  /** APISIX's `apisix.ssl.fallback_sni`: the SNI to assume when a client sends none. */
  fallbackSni?: string;
  /** The HTTP connection manager both listeners share (typed_config of the network filter). */
  hcm: Json;
}

export interface TlsListenerResult {
  /** Undefined when no server ssl is usable (no HTTPS listener then). */
  listener?: Json;
  secrets: Json[];
  issues: Issue[];
  /** Per usable ssl id: the normalised SNIs it serves (tests, docs). */
  served: Map<string, string[]>;
}

const SNI_PATTERN = /^\*?[0-9a-zA-Z._-]+$/;
const PROTOCOLS: Record<string, string> = { "TLSv1.1": "TLSv1_1", "TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3" };
const PROTOCOL_ORDER = ["TLSv1.1", "TLSv1.2", "TLSv1.3"];
const ads = { ads: {}, resource_api_version: "V3" };

/** APISIX's ssl_filter: lower case, no trailing dot. */
export function normaliseSni(s: string): string {
  return s.toLowerCase().replace(/\.$/, "");
}

/**
 * Which of `snis` (normalised) serves `name` the way radixtree_sni decides:
 * exact, then the one-label wildcard, then `*`. Returns the matching pattern.
 */
export function sniMatch(name: string, snis: Iterable<string>): string | undefined {
  const n = normaliseSni(name);
  const set = new Set(snis);
  if (set.has(n)) return n;
  const dot = n.indexOf(".");
  if (dot > 0 && set.has(`*${n.slice(dot)}`)) return `*${n.slice(dot)}`;
  return set.has("*") ? "*" : undefined;
}

interface Pair {
  cert: string;
  key: string;
  keyType: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle, parsed; throws with a reason. */
function parseCerts(pem: string): crypto.X509Certificate[] {
  const blocks = pem.match(PEM_CERT);
  if (!blocks) throw new Error("no PEM certificate (-----BEGIN CERTIFICATE-----) found");
  return blocks.map((b, i) => {
    try {
      return new crypto.X509Certificate(b);
    } catch (e) {
      throw new Error(`certificate ${i + 1} of the PEM does not parse (${(e as Error).message})`);
    }
  });
}

/** A certificate/key pair Envoy will load, or an error message. */
function checkPair(cert: unknown, key: unknown, now: number): { pair?: Pair; error?: { field: "cert" | "key"; message: string }; warning?: string } {
  if (typeof cert !== "string") return { error: { field: "cert", message: "must be a PEM string" } };
  if (typeof key !== "string") return { error: { field: "key", message: "must be a PEM string" } };
  let certs: crypto.X509Certificate[];
  try {
    certs = parseCerts(cert);
  } catch (e) {
    return { error: { field: "cert", message: (e as Error).message } };
  }
  let pk: crypto.KeyObject;
  try {
    pk = crypto.createPrivateKey({ key, format: "pem" });
  } catch (e) {
    const hint = /BEGIN/.test(key)
      ? ""
      : " (an Admin API key encrypted with apisix.data_encryption: the etcd source decrypts it with its keyring; in YAML give the PEM key)";
    return { error: { field: "key", message: `not a usable PEM private key${hint}: ${(e as Error).message}` } };
  }
  const leaf = certs[0];
  if (!leaf.checkPrivateKey(pk)) return { error: { field: "key", message: `does not match the certificate (subject ${leaf.subject.replace(/\n/g, ", ")})` } };
  // Envoy refuses other key types and small RSA keys when loading the chain,
  // which would NACK the whole SDS response: catch them here.
  const type = pk.asymmetricKeyType;
  const details = pk.asymmetricKeyDetails ?? {};
  let keyType: string;
  if (type === "rsa") {
    if ((details.modulusLength ?? 0) < 2048) return { error: { field: "key", message: `RSA key of ${details.modulusLength} bits: Envoy needs at least 2048` } };
    keyType = "rsa";
  } else if (type === "ec") {
    const curve = details.namedCurve ?? "";
    if (!["prime256v1", "secp384r1", "secp521r1"].includes(curve))
      return { error: { field: "key", message: `ECDSA curve ${curve || "?"}: Envoy accepts P-256, P-384 and P-521` } };
    keyType = `ec-${curve}`;
  } else {
    return { error: { field: "key", message: `key type ${type}: Envoy serves RSA and ECDSA certificates only` } };
  }
  const notAfter = Date.parse(leaf.validTo);
  const warning = Number.isFinite(notAfter) && notAfter < now ? `certificate expired on ${leaf.validTo}; served anyway, as APISIX does` : undefined;
  return { pair: { cert, key, keyType }, warning };
}

/** APISIX's snis of one ssl (`sni` or `snis`), normalised; errors name the field. */
function readSnis(s: Json, p: string, issues: Issue[]): string[] | undefined {
  const has = (k: string) => s[k] !== undefined && s[k] !== null;
  if (has("sni") === has("snis")) {
    issues.push({ severity: "error", path: p, message: "a server ssl needs exactly one of sni or snis; ssl not served" });
    return undefined;
  }
  const raw = has("sni") ? [s.sni] : s.snis;
  const field = has("sni") ? "sni" : "snis";
  if (!Array.isArray(raw) || raw.length === 0) {
    issues.push({ severity: "error", path: `${p}.${field}`, message: "must be a non-empty list of host names; ssl not served" });
    return undefined;
  }
  const out: string[] = [];
  for (const [i, v] of raw.entries()) {
    const fp = field === "sni" ? `${p}.sni` : `${p}.snis[${i}]`;
    if (typeof v !== "string" || (v !== "*" && !SNI_PATTERN.test(v)) || v.indexOf("*", 1) >= 0 || (v.startsWith("*") && v !== "*" && !v.startsWith("*."))) {
      issues.push({ severity: "error", path: fp, message: `${JSON.stringify(v)} is not a host name or *.wildcard; ssl not served` });
      return undefined;
    }
    out.push(normaliseSni(v));
  }
  return [...new Set(out)];
}

function protocols(s: Json, p: string, issues: Issue[]): Json | undefined | null {
  if (s.ssl_protocols === undefined) return undefined;
  const v = s.ssl_protocols;
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "string" || !(x in PROTOCOLS))) {
    issues.push({ severity: "error", path: `${p}.ssl_protocols`, message: `must be a non-empty list of ${PROTOCOL_ORDER.join(", ")}; ssl not served` });
    return null;
  }
  const idx = (v as string[]).map((x) => PROTOCOL_ORDER.indexOf(x)).sort();
  // Envoy takes a range; a gap (TLSv1.1 + TLSv1.3) widens to the whole range.
  if (idx[idx.length - 1] - idx[0] + 1 !== new Set(idx).size)
    issues.push({
      severity: "warning",
      path: `${p}.ssl_protocols`,
      message: `Envoy takes a version range: ${PROTOCOL_ORDER[idx[0]]}..${PROTOCOL_ORDER[idx[idx.length - 1]]} is served`,
    });
  return { tls_minimum_protocol_version: PROTOCOLS[PROTOCOL_ORDER[idx[0]]], tls_maximum_protocol_version: PROTOCOLS[PROTOCOL_ORDER[idx[idx.length - 1]]] };
}

interface Usable {
  id: string;
  chain: string;
  snis: string[];
}

export function tlsListener(apisix: Partial<ApisixConfig>, o: TlsListenerOptions, now = Date.now()): TlsListenerResult {
  const issues: Issue[] = [];
  const secrets: Json[] = [];
  const chains: Json[] = [];
  const usable: Usable[] = [];
  const seenIds = new Set<string>();

  (apisix.ssls ?? []).forEach((s) => {
    if (!isObj(s)) return;
    if ((s.type ?? "server") !== "server") return;
    // radixtree_sni serves status 1 or absent only
    if (s.status === 0) return;
    if (!(typeof s.id === "string" && s.id) && !(typeof s.id === "number" && Number.isInteger(s.id))) return; // reported by translate
    const id = String(s.id);
    const p = `ssls[${id}]`;
    if (seenIds.has(id)) return; // duplicate id, reported by translate
    seenIds.add(id);

    const snis = readSnis(s, p, issues);
    if (!snis) return;

    const pairs: Pair[] = [];
    const first = checkPair(s.cert, s.key, now);
    if (first.error) {
      issues.push({ severity: "error", path: `${p}.${first.error.field}`, message: `${first.error.message}; ssl not served` });
      return;
    }
    if (first.warning) issues.push({ severity: "warning", path: `${p}.cert`, message: first.warning });
    pairs.push(first.pair!);
    if (s.certs !== undefined || s.keys !== undefined) {
      const certs = s.certs,
        keys = s.keys;
      if (!Array.isArray(certs) || !Array.isArray(keys) || certs.length !== keys.length) {
        issues.push({ severity: "error", path: `${p}.certs`, message: "certs and keys must be lists of the same length; ssl not served" });
        return;
      }
      for (let k = 0; k < certs.length; k++) {
        const r = checkPair(certs[k], keys[k], now);
        if (r.error) {
          issues.push({ severity: "error", path: `${p}.${r.error.field}s[${k}]`, message: `${r.error.message}; ssl not served` });
          return;
        }
        if (r.warning) issues.push({ severity: "warning", path: `${p}.certs[${k}]`, message: r.warning });
        // One certificate per key type: Envoy picks among them by what the
        // client supports (e.g. RSA + ECDSA), as OpenSSL does for nginx.
        if (pairs.some((x) => x.keyType === r.pair!.keyType)) {
          issues.push({
            severity: "warning",
            path: `${p}.certs[${k}]`,
            message: `a second ${r.pair!.keyType} certificate for the same SNIs is never chosen; dropped`,
          });
          continue;
        }
        pairs.push(r.pair!);
      }
    }

    let validation: Json | undefined;
    if (s.client !== undefined) {
      const c = s.client;
      if (!isObj(c) || typeof c.ca !== "string") {
        issues.push({ severity: "error", path: `${p}.client.ca`, message: "client needs a PEM ca; ssl not served" });
        return;
      }
      try {
        parseCerts(c.ca);
      } catch (e) {
        issues.push({ severity: "error", path: `${p}.client.ca`, message: `${(e as Error).message}; ssl not served` });
        return;
      }
      const depth = c.depth === undefined ? 1 : c.depth;
      if (typeof depth !== "number" || !Number.isInteger(depth) || depth < 0 || depth > 100) {
        issues.push({ severity: "error", path: `${p}.client.depth`, message: `must be an integer 0..100, got ${JSON.stringify(depth)}; ssl not served` });
        return;
      }
      if (c.skip_mtls_uri_regex !== undefined)
        issues.push({
          severity: "warning",
          path: `${p}.client.skip_mtls_uri_regex`,
          message: "not supported: the client certificate is required in the handshake for every URI",
        });
      validation = { trusted_ca: { inline_string: c.ca }, max_verify_depth: depth };
    }
    const tlsParams = protocols(s, p, issues);
    if (tlsParams === null) return;

    const chain = `ssl.${id}`;
    const certSecrets = pairs.map((pair, k) => {
      const name = k === 0 ? `${chain}.cert` : `${chain}.cert.${k}`;
      secrets.push({
        "@type": TYPE_URL.secret,
        name,
        tls_certificate: { certificate_chain: { inline_string: pair.cert }, private_key: { inline_string: pair.key } },
      });
      return { name, sds_config: ads };
    });
    const common: Json = { alpn_protocols: ["h2", "http/1.1"], tls_certificate_sds_secret_configs: certSecrets };
    if (tlsParams) common.tls_params = tlsParams;
    const tls: Json = { "@type": T.downstreamTls, common_tls_context: common };
    if (validation) {
      const name = `${chain}.client-ca`;
      secrets.push({ "@type": TYPE_URL.secret, name, validation_context: validation });
      common.validation_context_sds_secret_config = { name, sds_config: ads };
      // APISIX (no skip_mtls_uri_regex) rejects a missing or unverified
      // client certificate in the handshake too.
      tls.require_client_certificate = true;
    }
    chains.push({
      name: chain,
      filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: o.hcm }],
      transport_socket: { name: "envoy.transport_sockets.tls", typed_config: tls },
    });
    usable.push({ id, chain, snis });
  });

  const served = new Map(usable.map((u) => [u.id, u.snis]));
  if (usable.length === 0) return { secrets: [], issues, served };

  // First ssl (document order) wins an SNI, like the first route item in radixtree.
  const owner = new Map<string, Usable>();
  for (const u of usable)
    for (const sni of u.snis) {
      const prev = owner.get(sni);
      if (prev) issues.push({ severity: "warning", path: `ssls[${u.id}].snis`, message: `SNI ${sni} is already served by ssl ${prev.id}; that one is used` });
      else owner.set(sni, u);
    }

  const action = (chain: string) => ({ action: { name: chain, typed_config: { "@type": T.stringValue, value: chain } } });
  const input = { name: "sni", typed_config: { "@type": T.serverNameInput } };
  const rule = (value_match: Json, chain: string) => ({ predicate: { single_predicate: { input, value_match } }, on_match: action(chain) });
  const escapeRegex = (s: string) => s.replace(/[.\\^$|?*+()[\]{}-]/g, (c) => `\\${c}`);
  const exact: Json[] = [],
    wild: Json[] = [];
  let star: Usable | undefined;
  for (const [sni, u] of owner) {
    if (sni === "*") star = u;
    else if (sni.startsWith("*.")) wild.push(rule({ safe_regex: { google_re2: {}, regex: `(?i)^[^.]+${escapeRegex(sni.slice(1))}$` } }, u.chain));
    else exact.push(rule({ exact: sni, ignore_case: true }, u.chain));
  }
  // An SNI present but matched by nothing: APISIX has no certificate and the
  // handshake fails; a chain name that does not exist makes Envoy close.
  const anySni = rule({ safe_regex: { google_re2: {}, regex: "^.+$" } }, star ? star.chain : NO_CERTIFICATE);
  const matcher: Json = { matcher_list: { matchers: [...exact, ...wild, anySni] } };

  if (o.fallbackSni) {
    const fb = normaliseSni(o.fallbackSni);
    const m = sniMatch(fb, owner.keys());
    if (m) matcher.on_no_match = action(owner.get(m)!.chain);
    else issues.push({ severity: "warning", path: "fallback_sni", message: `${fb} matches no server ssl: connections without SNI fail the handshake` });
  }

  const listener: Json = {
    "@type": TYPE_URL.listener,
    name: o.name ?? TLS_DEFAULTS.name,
    address: { socket_address: { address: o.address, port_value: o.port } },
    listener_filters: [{ name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": T.tlsInspector } }],
    filter_chains: chains,
    filter_chain_matcher: matcher,
  };
  return { listener, secrets, issues, served };
}
