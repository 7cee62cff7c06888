// ADS over TLS (optionally mutual): the channel that carries every cluster's
// client certificate and key must not be readable or writable by anyone on
// the network path. Certificates are made when the test runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import grpc from "@grpc/grpc-js";
import { AdsServer, adsClient, adsServerCredentials, type Logger } from "../../envoy/control-plane/server.ts";
import { TYPE_URL } from "../../envoy/control-plane/protos.ts";
import { translate } from "../../envoy/control-plane/translate.ts";
import { issue } from "../e2e/tls-certs.ts";

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const ca = issue({ cn: "ads test CA" });
const serverCert = issue({ cn: "localhost", ca, usage: "server" });
const clientCa = issue({ cn: "ads client CA" });
const client = issue({ cn: "envoy-1", ca: clientCa, usage: "client" });
const stranger = issue({ cn: "stranger", ca, usage: "client" });

/** One CDS request; resolves to the number of clusters, or rejects with the stream's error. */
function fetchClusters(port: number, creds: grpc.ChannelCredentials): Promise<number> {
  const c = adsClient(`localhost:${port}`, creds);
  return new Promise<number>((resolve, reject) => {
    const s = c.StreamAggregatedResources();
    const t = setTimeout(() => reject(new Error("no response")), 5000);
    s.on("data", (r: { resources: unknown[] }) => {
      clearTimeout(t);
      resolve(r.resources.length);
      s.cancel();
    });
    s.on("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.write({ version_info: "", node: { id: "n" }, resource_names: [], type_url: TYPE_URL.cluster, response_nonce: "" });
  }).finally(() => c.close());
}

test("ADS over TLS: a client that trusts the CA gets resources; a plain-text client gets nothing", async () => {
  const server = new AdsServer({ log: quiet });
  server.setSnapshot(translate({ upstreams: [{ id: "u", nodes: { "127.0.0.1:1": 1 } }] }));
  const port = await server.listen("127.0.0.1:0", adsServerCredentials({ cert: serverCert.cert, key: serverCert.key }));
  try {
    assert.equal(await fetchClusters(port, grpc.credentials.createSsl(Buffer.from(ca.cert))), 1);
    await assert.rejects(fetchClusters(port, grpc.credentials.createInsecure()));
  } finally {
    await server.close();
  }
});

test("ADS over mutual TLS: only a client certificate signed by --ads-tls-ca is served", async () => {
  const server = new AdsServer({ log: quiet });
  server.setSnapshot(translate({ upstreams: [{ id: "u", nodes: { "127.0.0.1:1": 1 } }] }));
  const port = await server.listen("127.0.0.1:0", adsServerCredentials({ cert: serverCert.cert, key: serverCert.key, ca: clientCa.cert }));
  try {
    const trust = Buffer.from(ca.cert);
    assert.equal(await fetchClusters(port, grpc.credentials.createSsl(trust, Buffer.from(client.key), Buffer.from(client.cert))), 1);
    await assert.rejects(fetchClusters(port, grpc.credentials.createSsl(trust)), "no client certificate");
    await assert.rejects(
      fetchClusters(port, grpc.credentials.createSsl(trust, Buffer.from(stranger.key), Buffer.from(stranger.cert))),
      "a certificate from another CA",
    );
  } finally {
    await server.close();
  }
});
