// An upstream's nodes as APISIX reads them (hash or list form, default ports,
// IPv6 brackets), for translate, DNS and health checks.
import net from "node:net";
import type { ApisixConfig } from "./document.ts";
import { forEachUpstream } from "./sites.ts";

export interface NodeSpec {
  host: string; // without IPv6 brackets
  port: number;
  weight: number;
  priority: number;
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

/** Normalised nodes of an upstream (invalid entries are skipped; translate reports them). */
export function upstreamNodes(upstream: Record<string, unknown>): NodeSpec[] {
  const scheme = typeof upstream.scheme === "string" ? upstream.scheme : "http";
  const defPort = DEFAULT_PORTS[scheme] ?? 80;
  const nodes = upstream.nodes;
  const out: NodeSpec[] = [];
  if (Array.isArray(nodes)) {
    for (const n of nodes) {
      if (typeof n !== "object" || n === null || typeof (n as { host?: unknown }).host !== "string") continue;
      const node = n as { host: string; port?: unknown; weight?: unknown; priority?: unknown };
      out.push({
        host: stripBrackets(node.host),
        port: typeof node.port === "number" ? node.port : defPort,
        weight: typeof node.weight === "number" ? node.weight : 1,
        priority: typeof node.priority === "number" ? node.priority : 0,
      });
    }
  } else if (typeof nodes === "object" && nodes !== null) {
    for (const [k, w] of Object.entries(nodes)) {
      const { host, port } = splitHostPort(k);
      out.push({ host, port: port ?? defPort, weight: typeof w === "number" ? w : 1, priority: 0 });
    }
  }
  return out;
}

/** Node host names that need DNS (not IP literals), sorted and unique. */
export function dnsHostnames(apisix: Partial<ApisixConfig>): string[] {
  const set = new Set<string>();
  forEachUpstream(apisix, (u) => {
    for (const n of upstreamNodes(u)) if (!isIpLiteral(n.host)) set.add(n.host);
  });
  return [...set].sort();
}
