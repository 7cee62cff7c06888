// DNS for node host names. APISIX resolves domain nodes itself and
// re-resolves them; here the control plane does it periodically and hands the
// result to the filter in the `dns` section (the filter uses the first
// address). A failed name is reported as {error}; the filter then drops that
// node like APISIX does (all failed → 503 "no valid upstream node").
import dns from "node:dns";
import net from "node:net";
import type { DnsTable } from "./apisix/index.ts";

/** Resolves one name to its addresses (any order); throws on failure. */
export type Lookup = (host: string) => Promise<string[]>;

export const systemLookup: Lookup = async (host) => {
  const res = await dns.promises.lookup(host, { all: true, order: "ipv4first" } as dns.LookupAllOptions);
  return res.map((r) => r.address);
};

/**
 * IPv4 first (APISIX prefers IPv4), then sorted within each family,
 * duplicates removed. Sorting keeps the filter config identical when a
 * resolver merely rotates its answers, so no ECDS update is pushed for that.
 */
export function orderAddresses(addrs: string[]): string[] {
  const uniq = [...new Set(addrs)].sort();
  return [...uniq.filter((a) => net.isIPv4(a)), ...uniq.filter((a) => !net.isIPv4(a))];
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || String((e as NodeJS.ErrnoException).code ?? e.name);
  return String(e);
}

/** Resolves every host (in parallel, each bounded by timeoutMs). Never throws. */
export async function resolveHosts(hosts: string[], lookup: Lookup = systemLookup, timeoutMs = 5000): Promise<DnsTable> {
  const out: DnsTable = {};
  await Promise.all(
    hosts.map(async (h) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const addrs = await Promise.race([
          lookup(h),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`DNS lookup of ${h} timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        const ordered = orderAddresses(addrs);
        out[h] = ordered.length ? { addresses: ordered } : { error: `no address for ${h}` };
      } catch (e) {
        out[h] = { error: errorText(e) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  // stable key order → stable filter JSON → no spurious ECDS versions
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((k) => [k, out[k]]),
  );
}
