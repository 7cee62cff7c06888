// Shared by the control-plane tests: a logger that keeps its lines, and a
// config source the test pushes documents through (the seam the file and
// etcd sources use too).
import type { Logger } from "../../envoy/control-plane/server.ts";
import type { ConfigSource, DocumentSink, RawDocument } from "../../envoy/control-plane/source.ts";

export const quietLog = (): Logger & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
};

export class PushSource implements ConfigSource {
  readonly description = "test";
  sink?: DocumentSink;
  /** Whether the controller applied the first document. */
  firstApplied?: boolean;
  constructor(private readonly first: RawDocument) {}
  async start(sink: DocumentSink) {
    this.sink = sink;
    this.firstApplied = await sink(this.first);
  }
  stop() {}
  push(doc: RawDocument) {
    return this.sink!(doc);
  }
}
