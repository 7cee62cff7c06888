// Node health as the balancer sees it: nodes the control plane's active
// checks reported down (the config's `health` section). Passive checks feed
// the same view from response codes (see recordResponse).

import { Node, Upstream } from "../config/model";

export class Health {
  // cluster → unhealthy "ip:port"
  active: Map<string, Set<string>> = new Map<string, Set<string>>();
  private versions: Map<string, u32> = new Map<string, u32>();

  isHealthy(up: Upstream, n: Node): bool {
    if (this.active.has(up.cluster) && this.active.get(up.cluster).has(n.address)) return false;
    return true;
  }

  // Bumped whenever a node of this upstream changes state, so cached
  // pickers built on the healthy set are rebuilt.
  version(up: Upstream): u32 {
    return this.versions.has(up.cluster) ? this.versions.get(up.cluster) : 0;
  }

  // Applies the `health` section of a new configuration, bumping the version
  // of every cluster whose set of down nodes changed.
  setActive(next: Map<string, Set<string>>): void {
    const old = this.active.keys();
    for (let i = 0; i < old.length; i++) {
      const k = old[i];
      if (!next.has(k) || !sameSet(this.active.get(k), next.get(k))) this.bumpCluster(k);
    }
    const keys = next.keys();
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (!this.active.has(k)) this.bumpCluster(k);
    }
    this.active = next;
  }

  private bumpCluster(cluster: string): void {
    this.versions.set(cluster, (this.versions.has(cluster) ? this.versions.get(cluster) : 0) + 1);
  }

  bump(up: Upstream): void {
    this.versions.set(up.cluster, this.version(up) + 1);
  }
}

function sameSet(a: Set<string>, b: Set<string>): bool {
  if (a.size != b.size) return false;
  const v = a.values();
  for (let i = 0; i < v.length; i++) if (!b.has(v[i])) return false;
  return true;
}
