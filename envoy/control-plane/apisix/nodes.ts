// An upstream's nodes as APISIX reads them (hash or list form, default ports,
// IPv6 brackets), for translate, DNS and health checks.
import net from "node:net";
import { isObj, type ApisixConfig, type DnsTable } from "./document.ts";
import { forEachUpstream } from "./sites.ts";

export interface NodeSpec {
  host: string; // without IPv6 brackets
  /** As written (validation has checked it); the scheme's default port when absent. */
  port: number;
  weight: number;
  priority: number;
  /** JSON path of the node, for messages (`<upstream path>.nodes[...]`). */
  path: string;
}

export const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, grpc: 80, grpcs: 443 };

export const stripBrackets = (h: string) => (h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h);
export const isIpLiteral = (h: string) => net.isIP(stripBrackets(h)) !== 0;
/** "ip:port" with IPv6 bracketed, as ORIGINAL_DST and the health table want it. */
export const hostPort = (ip: string, port: number) => (net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Splits "host[:port]" / "[v6][:port]"; port undefined when absent. */
export function splitHostPort(s: string): { host: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1], port: v6[2] ? Number(v6[2]) : undefined };
  const i = s.lastIndexOf(":");
  if (i > 0 && s.indexOf(":") === i && /^\d+$/.test(s.slice(i + 1))) return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  return { host: s };
}

/**
 * An upstream's nodes, hash or list form, as the one reading every part of
 * the control plane uses (translate, DNS, health). Entries without a host are
 * skipped; anything else invalid was dropped by validation before.
 */
export function upstreamNodes(upstream: Record<string, unknown>, path = "upstream"): NodeSpec[] {
  const scheme = typeof upstream.scheme === "string" ? upstream.scheme : "http";
  const defPort = DEFAULT_PORTS[scheme] ?? 80;
  const nodes = upstream.nodes;
  const out: NodeSpec[] = [];
  if (Array.isArray(nodes)) {
    nodes.forEach((n, i) => {
      if (!isObj(n) || typeof n.host !== "string" || !n.host) return;
      out.push({
        host: stripBrackets(n.host),
        port: n.port === undefined ? defPort : (n.port as number),
        weight: typeof n.weight === "number" ? n.weight : 1,
        priority: typeof n.priority === "number" ? n.priority : 0,
        path: `${path}.nodes[${i}]`,
      });
    });
  } else if (isObj(nodes)) {
    for (const [k, w] of Object.entries(nodes)) {
      const { host, port } = splitHostPort(k);
      if (!host) continue;
      out.push({ host, port: port ?? defPort, weight: typeof w === "number" ? w : 1, priority: 0, path: `${path}.nodes[${JSON.stringify(k)}]` });
    }
  }
  return out;
}

/**
 * The address a node is reached at, as the filter picks it: an IP literal as
 * it is, a name by the first address of the control plane's DNS table. A name
 * without one gets the reason instead (the filter drops such a node too).
 */
export function nodeAddress(host: string, dns: DnsTable): { ip: string } | { why: string } {
  if (isIpLiteral(host)) return { ip: host };
  const ans = dns[host];
  if (ans === undefined) return { why: "not resolved by the control plane (yet)" };
  if ("error" in ans) return { why: ans.error };
  return ans.addresses.length ? { ip: ans.addresses[0] } : { why: "no address" };
}

/** Node host names that need DNS (not IP literals), sorted and unique. */
export function dnsHostnames(apisix: Partial<ApisixConfig>): string[] {
  const set = new Set<string>();
  forEachUpstream(apisix, (u) => {
    for (const n of upstreamNodes(u)) if (!isIpLiteral(n.host)) set.add(n.host);
  });
  return [...set].sort();
}
