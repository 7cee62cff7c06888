// What the etcd measurements (bench/etcd-push.ts, tests/etcd/measure.ts,
// tests/etcd/breakdown.ts) write and read: one workload, one set of helpers,
// so their figures are about the same objects.
import type { EtcdClient } from "../../envoy/control-plane/etcd-client.ts";
import type { Push } from "./ads-watcher.ts";
import { stored } from "./admin.ts";

/** `--name value` from the command line, or the default. */
export const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};

export const ms = (x: number) => `${Math.round(x)} ms`;
export const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};
export const fmt = (xs: number[]) => {
  const s = stats(xs);
  return `median ${ms(s.median)} (min ${ms(s.min)}, max ${ms(s.max)}, n=${xs.length})`;
};

/** How often `text` occurs in a push's resources (a route's tag, an id). */
export const countText = (p: Push, text: string) => {
  let n = 0;
  for (const r of p.resources) {
    const b = Buffer.from(r.value);
    for (let i = b.indexOf(text); i >= 0; i = b.indexOf(text, i + 1)) n++;
  }
  return n;
};

/** Route i as the Admin API stores it: a prefix uri, a host, two methods, one of `upstreams` upstreams; `tag` marks a change. */
export const route = (i: number, upstreams: number, tag = "") =>
  stored("routes", `r${i}`, {
    uri: `/svc${i}/*`,
    hosts: [`h${i % 50}.example.com`],
    methods: ["GET", "POST"],
    upstream_id: `u${i % upstreams}`,
    ...(tag ? { desc: tag } : {}),
  });

/** Upstream i: one node (ports repeat every 1,000 upstreams). */
export const upstream = (i: number) => stored("upstreams", `u${i}`, { nodes: { [`127.0.0.1:${20000 + (i % 1000)}`]: 1 } });

/** Puts every [key, value] with `concurrency` requests in flight, as a bulk import would. */
export async function putAll(w: EtcdClient, items: [string, string][], concurrency = 64): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < items.length) {
        const [k, v] = items[i++];
        await w.put(k, v);
      }
    }),
  );
}
