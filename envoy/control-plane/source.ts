// The seam between where APISIX objects come from and what the control plane
// does with them. A config source (a standalone file here, etcd in
// etcd*.ts) hands over a RawDocument: the four sections as arrays of raw
// objects, exactly as stored, plus where they came from. Everything after
// that is shared (controller.ts apply()): ids for objects without one (as
// APISIX's config_yaml gives them), cluster names, the filter's own
// validation object by object through the real .wasm, DNS, translation,
// make-before-break publishing.
//
//   source ──RawDocument──► Controller.apply(doc) ──► validate ──► translate ──► AdsServer

/** The APISIX sections this project uses, in the order the filter reads them. */
export const OBJECT_SECTIONS = ["routes", "upstreams", "services", "ssls"] as const;
export type ObjectSection = (typeof OBJECT_SECTIONS)[number];

export interface RawDocument {
  /** For log lines: "file /etc/apisix/apisix.yaml", "etcd http://127.0.0.1:2379/apisix rev 42". */
  origin: string;
  routes: unknown[];
  upstreams: unknown[];
  services: unknown[];
  ssls: unknown[];
  /**
   * Names of the other top-level sections a standalone file had. They are
   * shown to the filter's validation, which warns about the APISIX sections
   * it does not use (consumers, global_rules, ...) and rejects unknown ones
   * (a typo like `route:`). Their content is not needed and not sent.
   */
  otherSections?: string[];
  /**
   * Objects (`routes/<id>`, ...) whose current value is an update the source
   * watched: if it is invalid, the previous valid value keeps serving, as
   * APISIX's config_etcd does for a watched update (a full read, like a
   * standalone file, drops an invalid object instead).
   */
  keepPrevious?: ReadonlySet<string>;
}

/** What a source calls with each complete document; resolves to whether it was applied. */
export type DocumentSink = (doc: RawDocument) => Promise<boolean>;

export interface ConfigSource {
  /** For log lines. */
  readonly description: string;
  /**
   * Delivers the first document (resolving after the sink has handled it;
   * rejecting when there is none to deliver) and then keeps delivering
   * changes until stop().
   */
  start(sink: DocumentSink): Promise<void>;
  stop(): void;
}

/** A document that cannot be used at all (the last good config keeps serving). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
