// The xDS control plane: APISIX objects in, Envoy LDS/RDS/CDS/ECDS over ADS out.
// `node --import tsx envoy/control-plane/main.ts --help` lists every option
// (HELP below is the one place they are documented; docs/operations.md links here).
import { pathToFileURL } from "node:url";
import { Controller } from "./controller.ts";
import { ETCD_USAGE, defaultEtcdArgs, etcdSourceFromArgs, parseEtcdFlag, type EtcdCliArgs } from "./etcd.ts";
import { AdsServer, adsServerCredentials, consoleLogger, type Logger } from "./server.ts";
import { LB_MODES, type LbMode } from "./translate.ts";
import { ROUTER_HTTP_NAMES, type RouterHttp } from "./apisix/index.ts";
import { DEFAULT_MAX_FILE_BYTES } from "./standalone.ts";
import { DEFAULT_VALIDATOR_WASM } from "./validate.ts";
import fs from "node:fs";

export interface CliArgs {
  config: string;
  port: number;
  host: string;
  listenerPort: number;
  listenerAddress?: string;
  tlsListenerPort: number | null;
  fallbackSni?: string;
  wasm?: string;
  validateWasm?: string;
  adsTlsCert?: string;
  adsTlsKey?: string;
  adsTlsCa?: string;
  maxConfigBytes: number;
  maxXdsBytes?: number;
  dnsInterval: number;
  lbMode: LbMode;
  routerHttp?: RouterHttp;
  accessLog: boolean;
  verbose: boolean;
  /** Set when an --etcd* option was given. */
  etcd?: EtcdCliArgs;
}

export const HELP = `usage: node --import tsx envoy/control-plane/main.ts (--config apisix.yaml | --etcd URL) [options]

Serves Envoy over ADS (gRPC): the listener (LDS), its route (RDS), one cluster per
APISIX upstream (CDS) and the wasm filter's configuration (ECDS). Watches the config
file and pushes a new version on every change; an invalid file is logged and the
last good config keeps serving.

options:
  --config PATH         APISIX standalone file (this or --etcd): apisix.yaml (ending with
                        #END, as APISIX requires) or apisix.json
${ETCD_USAGE}
  --port N              ADS gRPC port (default 18000)
  --host ADDR           ADS bind address (default 127.0.0.1; compose sets 0.0.0.0)
  --listener-port N     Envoy's HTTP listener port (default 9080)
  --listener-address A  Envoy's HTTP listener address (default 0.0.0.0)
  --tls-listener-port N Envoy's HTTPS listener port for the server ssls (default 9443, as
                        APISIX); "off" = no HTTPS listener (docs/tls.md)
  --fallback-sni NAME   APISIX's apisix.ssl.fallback_sni: the SNI assumed when a client
                        sends none
  --wasm PATH           filter.wasm path as Envoy sees it (default /etc/envoy/filter.wasm)
  --validate-wasm PATH  the filter module every object is validated with (default: --wasm
                        if that file exists here, else build/filter.wasm)
  --max-config-bytes N  size limit of the config file (default 16 MiB)
  --max-xds-bytes N     size limit of one snapshot's encoded resources; a bigger one is
                        refused, nothing published (default 64 MiB)
  --ads-tls-cert FILE   serve ADS over TLS with this certificate (PEM) ...
  --ads-tls-key FILE    ... and key
  --ads-tls-ca FILE     and require client certificates signed by this CA (mTLS)
  --dns-interval SECS   how often domain nodes are re-resolved (default 30)
  --lb-mode MODE        override-host (default; Envoy >= 1.35: clusters with endpoints and
                        the override_host policy; retries follow APISIX's order) |
                        original-dst (any Envoy with wasm; retries stay on the first node)
  --router-http NAME    APISIX's apisix.router.http: radixtree_host_uri (default) |
                        radixtree_uri | radixtree_uri_with_parameter (uris like /user/:id)
  --access-log          stdout access log on the listener, naming route, cluster and node
  --verbose             log every xDS response
  -h, --help            this help

example:
  node --import tsx envoy/control-plane/main.ts --config examples/local.yaml --wasm build/filter.wasm --access-log`;

/** Thrown for --help: main prints HELP and exits 0. */
export class HelpRequested extends Error {}
/** A usage error: exit code 2, as for the operator CLI. */
export class ArgError extends Error {}

export function parseArgs(argv: string[]): CliArgs {
  const a: CliArgs = {
    config: "",
    port: 18000,
    host: "127.0.0.1",
    listenerPort: 9080,
    tlsListenerPort: 9443,
    maxConfigBytes: DEFAULT_MAX_FILE_BYTES,
    dnsInterval: 30,
    lbMode: "override-host",
    accessLog: false,
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new ArgError(`${k} needs a value`);
      return v;
    };
    const int = (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new ArgError(`${k}: not a number: ${v}`);
      return n;
    };
    switch (k) {
      case "--config":
        a.config = next();
        break;
      case "--port":
        a.port = int(next());
        break;
      case "--host":
        a.host = next();
        break;
      case "--listener-port":
        a.listenerPort = int(next());
        break;
      case "--listener-address":
        a.listenerAddress = next();
        break;
      case "--tls-listener-port": {
        const v = next();
        a.tlsListenerPort = v === "off" ? null : int(v);
        break;
      }
      case "--fallback-sni":
        a.fallbackSni = next();
        break;
      case "--wasm":
        a.wasm = next();
        break;
      case "--validate-wasm":
        a.validateWasm = next();
        break;
      case "--ads-tls-cert":
        a.adsTlsCert = next();
        break;
      case "--ads-tls-key":
        a.adsTlsKey = next();
        break;
      case "--ads-tls-ca":
        a.adsTlsCa = next();
        break;
      case "--max-config-bytes":
        a.maxConfigBytes = int(next());
        break;
      case "--max-xds-bytes":
        a.maxXdsBytes = int(next());
        break;
      case "--dns-interval":
        a.dnsInterval = int(next());
        break;
      case "--lb-mode": {
        const v = next();
        if (!(LB_MODES as readonly string[]).includes(v)) throw new ArgError(`--lb-mode: ${v} is not one of ${LB_MODES.join(", ")}`);
        a.lbMode = v as LbMode;
        break;
      }
      case "--router-http": {
        const v = next();
        if (!(ROUTER_HTTP_NAMES as readonly string[]).includes(v)) throw new ArgError(`--router-http: ${v} is not one of ${ROUTER_HTTP_NAMES.join(", ")}`);
        a.routerHttp = v as RouterHttp;
        break;
      }
      case "--access-log":
        a.accessLog = true;
        break;
      case "--verbose":
        a.verbose = true;
        break;
      case "-h":
      case "--help":
        throw new HelpRequested(HELP);
      default: {
        try {
          if (parseEtcdFlag((a.etcd ??= defaultEtcdArgs()), k, next)) break;
        } catch (e) {
          throw new ArgError((e as Error).message);
        }
        throw new ArgError(`unknown argument ${k} (--help lists the options)`);
      }
    }
  }
  const etcd = !!a.etcd?.endpoints.length;
  if (a.config && etcd) throw new ArgError("--config and --etcd exclude each other");
  if (!a.config && !etcd)
    throw new ArgError(a.etcd ? "--etcd is required with --etcd-* options" : "--config is required, or --etcd (--help lists the options)");
  if ((a.adsTlsCert === undefined) !== (a.adsTlsKey === undefined)) throw new ArgError("--ads-tls-cert and --ads-tls-key go together");
  if (a.adsTlsCa !== undefined && a.adsTlsCert === undefined) throw new ArgError("--ads-tls-ca needs --ads-tls-cert and --ads-tls-key");
  return a;
}

export async function main(argv: string[]): Promise<{ server: AdsServer; controller: Controller; port: number }> {
  const args = parseArgs(argv);
  const log: Logger = args.verbose ? { ...consoleLogger, debug: (m) => console.log(`${new Date().toISOString()} debug ${m}`) } : consoleLogger;
  const server = new AdsServer({ log, maxSnapshotBytes: args.maxXdsBytes });
  const controller = new Controller({
    configPath: args.config || undefined,
    source: args.etcd?.endpoints.length ? etcdSourceFromArgs(args.etcd, log) : undefined,
    server,
    log,
    dnsIntervalMs: args.dnsInterval * 1000,
    maxConfigBytes: args.maxConfigBytes,
    validatorWasm: args.validateWasm ?? (args.wasm && fs.existsSync(args.wasm) ? args.wasm : DEFAULT_VALIDATOR_WASM),
    translate: {
      listenerPort: args.listenerPort,
      tlsListenerPort: args.tlsListenerPort,
      fallbackSni: args.fallbackSni,
      listenerAddress: args.listenerAddress,
      wasmPath: args.wasm,
      accessLog: args.accessLog,
      lbMode: args.lbMode,
      routerHttp: args.routerHttp,
    },
  });
  await controller.start();
  // scripts/start.ts reads the mode as the word after "cluster mode"
  log.info(`control-plane: cluster mode ${args.lbMode} (router ${args.routerHttp ?? ROUTER_HTTP_NAMES[0]})`);
  const credentials = args.adsTlsCert
    ? adsServerCredentials({
        cert: fs.readFileSync(args.adsTlsCert),
        key: fs.readFileSync(args.adsTlsKey!),
        ca: args.adsTlsCa ? fs.readFileSync(args.adsTlsCa) : undefined,
      })
    : undefined;
  const port = await server.listen(`${args.host}:${args.port}`, credentials);
  const shutdown = (sig: string) => {
    log.info(`${sig}: shutting down`);
    controller.stop();
    void server.close().then(() => process.exit(0));
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  return { server, controller, port };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e) => {
    if (e instanceof HelpRequested) {
      console.log(HELP);
      process.exit(0);
    }
    console.error(`control-plane: ${(e as Error).message}`);
    process.exit(e instanceof ArgError ? 2 : 1);
  });
}
