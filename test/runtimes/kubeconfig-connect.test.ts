/**
 * fromKubeconfig's connections on this runtime (run by the matrix on Deno and Bun; Node's are in
 * test/e2e/kubeconfig-connect.test.ts): `tls-server-name` where the runtime can send it and a
 * plain refusal where it cannot, `proxy-url` with credentials and HTTPS_PROXY through a real
 * CONNECT proxy on 127.0.0.1, against the real test cluster (whose second listener answers only
 * to the name kubernetes.tenure.test, with a certificate of another CA).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import type * as Kubernetes from "../../adapters/kubernetes/entry-web.ts";
import { emptyRecord } from "../../src/record.ts";
import { issueCert } from "../cluster/pki.ts";
import { type ConnectProxy, connectProxy, socksProxy } from "../support/connect-proxy.ts";
import { type Sandbox, sandbox } from "./sandbox.ts";

const RUNTIME: "deno" | "bun" | "node" = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
// In a variable: type-checking must not follow every runtime's entry.
const ENTRY = `../../adapters/kubernetes/entry-${RUNTIME}.ts`;
const kubernetes = (await import(ENTRY)) as typeof Kubernetes;

const b64 = (text: string): string => Buffer.from(text).toString("base64");

describe(`fromKubeconfig's connections on ${RUNTIME}`, () => {
  let box!: Sandbox;
  let token!: string;
  let dir!: string;
  let proxy!: ConnectProxy;
  /** Another proxy for HTTPS_PROXY, so that no tunnel kept alive from the proxy-url case counts. */
  let envProxy!: ConnectProxy;
  let files = 0;
  let leases = 0;
  before(async () => {
    box = await sandbox(`rt-connect-${RUNTIME}`);
    token = (await readFile(join(box.serviceAccountDir, "token"), "utf8")).trim();
    dir = await mkdtemp(join(tmpdir(), "tenure-rt-connect-"));
    proxy = await connectProxy({ [box.kube.sni.name]: "127.0.0.1" }, "elector:s3cret");
    envProxy = await connectProxy({ [box.kube.sni.name]: "127.0.0.1" });
  });
  after(async () => {
    await proxy?.close();
    await envProxy?.close();
    await box?.dispose();
  });

  const kubeconfig = async (cluster: string): Promise<string> => {
    const path = join(dir, `config-${++files}`);
    await writeFile(path, `clusters:\n- name: c\n  cluster:\n${cluster}\ncontexts:\n- name: x\n  context: {cluster: c, user: u, namespace: ${box.namespace}}\ncurrent-context: x\nusers:\n- name: u\n  user: {token: ${token}}\n`);
    return path;
  };
  const reaches = async (path: string, warnings: string[] = []): Promise<void> => {
    const cluster = await kubernetes.fromKubeconfig({ path, warn: (m) => warnings.push(m) });
    await kubernetes.leaseLock(cluster, { name: `lock-${++leases}` }).create({ ...emptyRecord, leaseDurationSeconds: 1 }, AbortSignal.timeout(10_000));
  };
  const port = (): string => new URL(box.kube.server).port;
  const byName = (extra = ""): Promise<string> =>
    kubeconfig(`    server: https://${box.kube.sni.name}:${port()}\n    certificate-authority-data: ${b64(box.kube.sni.caPem)}${extra}`);

  it("tls-server-name", async () => {
    const sniCa = `    certificate-authority-data: ${b64(box.kube.sni.caPem)}`;
    const named = await kubeconfig(`    server: ${box.kube.server}\n${sniCa}\n    tls-server-name: ${box.kube.sni.name}`);
    if (RUNTIME === "deno") {
      await assert.rejects(kubernetes.fromKubeconfig({ path: named }), (e: Error) => e instanceof kubernetes.UnsupportedError && /on Deno cannot send the TLS server name "kubernetes\.tenure\.test"/.test(e.message));
      return;
    }
    await reaches(named);
    await assert.rejects(reaches(await kubeconfig(`    server: ${box.kube.server}\n${sniCa}`)), /TLS verification of .* failed/);
  });

  it("proxy-url with credentials, to a name only the proxy resolves", async () => {
    const before = proxy.tunnels.length;
    await reaches(await byName(`\n    proxy-url: ${proxy.url.replace("http://", "http://elector:s3cret@")}`));
    const tunnels = proxy.tunnels.slice(before);
    assert.ok(tunnels.length > 0);
    assert.ok(tunnels.every((t) => t.target === `${box.kube.sni.name}:${port()}` && t.authorization === `Basic ${b64("elector:s3cret")}`), JSON.stringify(tunnels));
  });

  it("proxy-url socks5, where the runtime can: the proxy resolves the name, as with client-go", async () => {
    const socks = await socksProxy({ [box.kube.sni.name]: "127.0.0.1" });
    try {
      const path = await byName(`\n    proxy-url: ${socks.url}`);
      if (RUNTIME === "bun") {
        await assert.rejects(kubernetes.fromKubeconfig({ path }), (e: Error) => e instanceof kubernetes.UnsupportedError && /on Bun cannot connect through the socks5 proxy/.test(e.message));
        return;
      }
      await reaches(path);
      assert.deepEqual(new Set(socks.tunnels.map((t) => t.target)), new Set([`${box.kube.sni.name}:${port()}`]));
    } finally {
      await socks.close();
    }
  });

  it("proxy-url https, its certificate from the cluster's CA (as Go checks it)", async () => {
    const ca = { certFile: box.kube.caFile, keyFile: join(box.kube.dir, "pki", "ca.key") };
    const cert = await issueCert({ ca, base: join(dir, "https-proxy"), commonName: "127.0.0.1", usage: "serverAuth", subjectAltName: "IP:127.0.0.1" });
    const tlsProxy = await connectProxy({}, undefined, { cert: cert.certPem, key: cert.keyPem });
    try {
      await reaches(await kubeconfig(`    server: ${box.kube.server}\n    certificate-authority-data: ${b64(box.kube.caPem)}\n    proxy-url: ${tlsProxy.url}`));
      assert.deepEqual(new Set(tlsProxy.tunnels.map((t) => t.target)), new Set([new URL(box.kube.server).host]));
    } finally {
      await tlsProxy.close();
    }
  });

  it("HTTPS_PROXY; a loopback server directly where the runtime lets tenure choose, else a warning", async () => {
    const saved = { HTTPS_PROXY: process.env["HTTPS_PROXY"], NO_PROXY: process.env["NO_PROXY"] };
    process.env["HTTPS_PROXY"] = envProxy.url;
    delete process.env["NO_PROXY"];
    try {
      let before = envProxy.tunnels.length;
      await reaches(await byName());
      assert.ok(envProxy.tunnels.slice(before).some((t) => t.target === `${box.kube.sni.name}:${port()}`));
      before = envProxy.tunnels.length;
      const warnings: string[] = [];
      await reaches(await kubeconfig(`    server: ${box.kube.server}\n    certificate-authority-data: ${b64(box.kube.caPem)}`), warnings);
      if (RUNTIME === "deno") {
        // Deno's fetch applies HTTPS_PROXY to 127.0.0.1 by itself; tenure says so.
        assert.equal(warnings.length, 1);
        assert.match(warnings[0]!, /Deno's fetch applies HTTPS_PROXY by its own rules/);
      } else {
        assert.deepEqual(warnings, []);
        assert.equal(envProxy.tunnels.length, before, "straight to 127.0.0.1, as client-go goes");
      }
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
