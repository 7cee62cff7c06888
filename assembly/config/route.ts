// Routes and services as compiled from APISIX's objects (see model.ts for
// upstreams and nodes).

import { splitChar } from "../ascii";
import { Expr } from "../expr/vars";
import { Cidr } from "../net";
import { Timeout, Upstream } from "./model";
import { SplitRule } from "./traffic_split";

// Shared empty lists for the many routes without hosts or remote_addrs, so
// that each route does not carry (and the collector visit) arrays of its
// own. Never pushed to: a parser that has elements builds a new array.
export const NO_HOSTS: Array<string> = [];
export const NO_CIDRS: Array<Cidr> = [];
const NO_URIS: Array<string> = [];

export class Route {
  id: string = "";
  // Its uri, or the first of its uris (the others in moreUris): most routes
  // have one, and then carry no array for it.
  uri: string = "";
  moreUris: Array<string> = NO_URIS;
  hosts: Array<string> = NO_HOSTS;
  // Bit per method (see methodNames); 0 = any.
  methods: u32 = 0;
  priority: i64 = 0;
  vars: Expr | null = null;
  remoteAddrs: Array<Cidr> = NO_CIDRS;
  upstreamId: string = "";
  upstream: Upstream | null = null;
  // The upstreams[] object upstreamId named in this route's config, once a
  // request looked it up (resolve.ts): later requests skip the id lookup.
  upstreamById: Upstream | null = null;
  serviceId: string = "";
  enableWebsocket: bool = false;
  websocketSet: bool = false;
  timeout: Timeout | null = null;
  // plugins["traffic-split"], the only plugin the filter runs.
  split: Array<SplitRule> | null = null;
  // Document order: ties between equal-priority routes keep it.
  order: i32 = 0;

  get uriCount(): i32 { return (this.uri.length ? 1 : 0) + this.moreUris.length; }
  uriAt(i: i32): string { return i == 0 ? this.uri : this.moreUris[i - 1]; }
}

export class Service {
  id: string = "";
  upstreamId: string = "";
  upstream: Upstream | null = null;
  enableWebsocket: bool = false;
  websocketSet: bool = false;
  hosts: Array<string> = NO_HOSTS;
}

// The methods a route may name, made on first use from one catalogue text
// (a top-level list literal is start-up code, one store per name).
let methods: Array<string> | null = null;

export function methodNames(): Array<string> {
  let m = methods;
  if (m === null) methods = m = splitChar("GET POST PUT DELETE PATCH HEAD OPTIONS CONNECT TRACE PURGE", 0x20);
  return m;
}

export function methodBit(m: string): u32 {
  const names = methodNames();
  for (let i = 0; i < names.length; i++) if (unchecked(names[i]) == m) return (<u32>1) << i;
  return 0;
}
