// docker-compose.yml is consistent with the files, envoy.yaml and the example
// APISIX config (no Docker needed).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { forEachUpstream, loadApisixYaml, upstreamNodes, type NodeSpec } from "../../envoy/control-plane/apisix/index.ts";
import { DEFAULTS } from "../../envoy/control-plane/translate.ts";
import { parseArgs } from "../../envoy/control-plane/main.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), "utf8");
const compose: any = parse(read("docker-compose.yml"), { merge: true });
const services = compose.services as Record<string, any>;
const envoyYaml = parse(read("envoy/envoy.yaml"));

/** "./a:/b:ro" → {source, target} (bind when source starts with . or /). */
const mounts = (svc: { volumes?: string[] }) =>
  (svc.volumes ?? []).map((v) => {
    const [source, target] = v.split(":");
    return { source, target, bind: source.startsWith(".") || source.startsWith("/") };
  });
const cpArgs = () =>
  parseArgs((services["control-plane"].command as string[]).slice((services["control-plane"].command as string[]).indexOf("envoy/control-plane/main.ts") + 1));

test("compose: the expected services exist", () => {
  assert.deepEqual(Object.keys(services).sort(), ["control-plane", "echo-1", "echo-2", "envoy", "grpc-echo", "wasm", "ws-echo"]);
  assert.match(
    services.envoy.build ? read(path.join(services.envoy.build.context, services.envoy.build.dockerfile)) : services.envoy.image,
    /envoyproxy\/envoy:v1\.(3[6-9]|[4-9]\d)/,
  );
});

test("compose: every referenced file/dir exists (build contexts, Dockerfiles and their COPY sources, bind mounts, commands)", () => {
  for (const [name, svc] of Object.entries(services)) {
    if (svc.build) {
      const ctx = path.join(ROOT, svc.build.context);
      assert.ok(fs.statSync(ctx).isDirectory(), `${name}: build context`);
      const df = path.join(ctx, svc.build.dockerfile);
      assert.ok(fs.existsSync(df), `${name}: ${svc.build.dockerfile}`);
      for (const line of fs.readFileSync(df, "utf8").split("\n")) {
        const m = /^COPY\s+(?!--from)(.+)\s+\S+$/.exec(line.trim());
        if (m) for (const src of m[1].split(/\s+/)) assert.ok(fs.existsSync(path.join(ctx, src)), `${name}: COPY source ${src}`);
      }
    }
    for (const m of mounts(svc)) {
      if (m.bind) assert.ok(fs.existsSync(path.join(ROOT, m.source)), `${name}: bind mount ${m.source}`);
      else assert.ok(m.source in (compose.volumes ?? {}), `${name}: named volume ${m.source} declared`);
    }
    for (const arg of (Array.isArray(svc.command) ? svc.command : []) as string[])
      if (/\.(ts|mjs|js)$/.test(arg) && !arg.startsWith("/")) assert.ok(fs.existsSync(path.join(ROOT, arg)), `${name}: ${arg}`);
  }
});

test("compose: envoy ↔ control plane ↔ envoy.yaml agree (xDS address, listener and admin ports, filter path)", () => {
  const args = cpArgs();
  const xds = envoyYaml.static_resources.clusters.find((c: { name: string }) => c.name === "xds_cluster");
  const sa = xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
  assert.equal(sa.address, "control-plane");
  assert.ok(services[sa.address], "xds address is a compose service");
  assert.equal(sa.port_value, args.port);
  const ports = (services.envoy.ports as string[]).map((p) => p.split(":").slice(-2));
  assert.ok(
    ports.some(([h, c]) => c === String(args.listenerPort) && h === String(DEFAULTS.listenerPort)),
    "listener port published",
  );
  assert.equal(args.listenerPort, DEFAULTS.listenerPort);
  assert.ok(
    ports.some(([h, c]) => c === String(args.tlsListenerPort) && h === "9443"),
    "HTTPS listener port published (docs/tls.md)",
  );
  assert.ok(
    ports.some(([, c]) => c === String(envoyYaml.admin.address.socket_address.port_value)),
    "admin port published",
  );
  // envoy.yaml mounted where the envoy command reads it
  const cmd = services.envoy.command as string[];
  const cfgPath = cmd[cmd.indexOf("-c") + 1];
  assert.ok(mounts(services.envoy).some((m) => m.target === cfgPath && m.source === "./envoy/envoy.yaml"));
  // the wasm volume: written by the wasm service at /out, mounted by envoy;
  // the Envoy image links the configured filter path into it
  const wasmOut = mounts(services.wasm).find((m) => !m.bind)!;
  const wasmIn = mounts(services.envoy).find((m) => m.source === wasmOut.source)!;
  assert.ok(wasmIn, "envoy mounts the wasm volume");
  assert.match(read("envoy/Dockerfile.wasm"), new RegExp(`${wasmOut.target}/filter\\.wasm`));
  const wasmPath = args.wasm ?? DEFAULTS.wasmPath;
  assert.match(read("envoy/Dockerfile.envoy"), new RegExp(`ln -sf ${wasmIn.target}/filter\\.wasm ${wasmPath.replace(/\./g, "\\.")}`));
  assert.equal(services.envoy.depends_on.wasm.condition, "service_completed_successfully");
  assert.ok(services.envoy.depends_on["control-plane"]);
});

test("compose: override-host clusters by default (the image is new enough); ORIGINAL_DST one documented flag away", () => {
  assert.equal(cpArgs().lbMode, "override-host");
  assert.match(read("docker-compose.yml"), /# {3}- --lb-mode\n\s+# {3}- original-dst/);
  const m = /envoyproxy\/envoy:v1\.(\d+)/.exec(read("envoy/Dockerfile.envoy"));
  assert.ok(m && Number(m[1]) >= 35, "Envoy image supports envoy.load_balancing_policies.override_host");
});

test("compose: the control plane's --config is examples/config.yaml, whose nodes are compose services on their ports", () => {
  const args = cpArgs();
  const m = mounts(services["control-plane"]).find((m) => args.config.startsWith(`${m.target}/`) || args.config === m.target)!;
  assert.ok(m, "config path is mounted");
  const hostFile = path.join(m.source, path.relative(m.target, args.config));
  assert.equal(path.normalize(hostFile), path.normalize("examples/config.yaml"));
  const apisix = loadApisixYaml(read(hostFile));
  const nodes: NodeSpec[] = [];
  forEachUpstream(apisix, (u) => nodes.push(...upstreamNodes(u)));
  assert.ok(nodes.length >= 4);
  for (const n of nodes) {
    const svc = services[n.host];
    assert.ok(svc, `node host ${n.host} is a compose service`);
    assert.equal(String(n.port), svc.environment.PORT, `${n.host} listens on ${n.port}`);
    assert.ok((svc.expose as string[]).includes(String(n.port)));
  }
  // route kinds the demo shows
  assert.ok(apisix.routes.some((r) => r.enable_websocket === true));
  assert.ok(apisix.routes.some((r) => (r.upstream as { scheme?: string } | undefined)?.scheme === "grpc"));
});
