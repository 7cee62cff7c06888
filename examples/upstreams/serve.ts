// What every demo upstream does the same way: listen and close (dropping
// kept-alive connections so a test's stop() never waits for a client), and
// run as a process from NAME / PORT / HOST until SIGTERM or SIGINT.
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";

export interface Started {
  port: number;
  close(): Promise<void>;
}

/** server.listen on port/host; `beforeClose` ends what the server does not track (websocket clients). */
export function listen(server: http.Server, port: number, host: string | undefined, beforeClose: () => void = () => {}): Promise<Started> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host ?? "0.0.0.0", () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            beforeClose();
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

/**
 * When `moduleUrl` is the script node was started with: start the upstream
 * with NAME (default `defaultName`), PORT (default `defaultPort`) and HOST,
 * log where it listens, and close it on SIGTERM / SIGINT.
 */
export async function runAsProcess(
  moduleUrl: string,
  o: { label: string; defaultName: string; defaultPort: number; note?: string },
  start: (opts: { name: string; port: number; host?: string }) => Promise<Started>,
): Promise<void> {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const name = process.env.NAME ?? o.defaultName;
  const s = await start({ name, port: Number(process.env.PORT ?? o.defaultPort), host: process.env.HOST });
  console.log(`${o.label} ${name} listening on :${s.port}${o.note ?? ""}`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
