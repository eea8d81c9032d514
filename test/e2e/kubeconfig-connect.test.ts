/**
 * fromKubeconfig connecting as kubectl connects, against the real API server: `tls-server-name`
 * (the server's second listener answers only to its name, with a certificate of another CA),
 * `proxy-url` and HTTPS_PROXY / NO_PROXY through a real CONNECT proxy the test starts, and an exec
 * plugin named relative to its kubeconfig that is given the cluster info kubectl gives.
 */
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fromKubeconfig, KubeconfigError, leaseLock, TenureError } from "../../adapters/kubernetes/entry-node.ts";
import { emptyRecord } from "../../src/record.ts";
import { issueCert } from "../cluster/pki.ts";
import { connectProxy, socksProxy } from "../support/connect-proxy.ts";
import { kube, sandbox } from "./support.ts";

const dir = await mkdtemp(join(tmpdir(), "tenure-kc-connect-"));
const port = new URL(kube.server).port;
const b64 = (text: string): string => Buffer.from(text).toString("base64");
let files = 0;
let leases = 0;

/** A kubeconfig with one cluster (`cluster` lines under `cluster:`) and one user. */
const kubeconfig = async (cluster: string, user: string, namespace: string, folder = dir): Promise<string> => {
  const path = join(folder, `config-${++files}`);
  await writeFile(path, `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
${cluster}
contexts:
- name: x
  context: {cluster: c, user: u, namespace: ${namespace}}
current-context: x
users:
- name: u
  user:
${user}
`);
  return path;
};

/** Creates a Lease through the kubeconfig's connection: it resolves once the server answered. */
const reaches = async (path: string, warnings: string[] = []): Promise<void> => {
  const cluster = await fromKubeconfig({ path, warn: (m) => warnings.push(m) });
  await leaseLock(cluster, { name: `lock-${++leases}` }).create({ ...emptyRecord, leaseDurationSeconds: 1 }, AbortSignal.timeout(10_000));
};

const withEnv = async (env: Record<string, string | undefined>, body: () => Promise<void>): Promise<void> => {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const put = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  put(env);
  try {
    await body();
  } finally {
    put(saved);
  }
};

const proxy = await connectProxy({ [kube.sni.name]: "127.0.0.1" });
const authProxy = await connectProxy({ [kube.sni.name]: "127.0.0.1" }, "elector:s3cret");
const socks = await socksProxy({ [kube.sni.name]: "127.0.0.1" });
after(async () => {
  await proxy.close();
  await socks.close();
  await authProxy.close();
});

describe("tls-server-name", () => {
  it("is sent as SNI and the certificate is verified against it", async () => {
    const box = await sandbox("kc-sni");
    const token = await kube.serviceAccountToken(box.namespace, "elector");
    const user = `    token: ${token}`;
    const sniCa = `    certificate-authority-data: ${b64(kube.sni.caPem)}`;
    await reaches(await kubeconfig(`    server: ${kube.server}\n${sniCa}\n    tls-server-name: ${kube.sni.name}`, user, box.namespace));
    // Without it the default listener answers, whose certificate the SNI listener's CA did not sign.
    await assert.rejects(reaches(await kubeconfig(`    server: ${kube.server}\n${sniCa}`, user, box.namespace)), /TLS verification of .* failed/);
    // A name the certificate does not carry fails verification, though the address is in it.
    const mainCa = `    certificate-authority-data: ${b64(kube.caPem)}`;
    await assert.rejects(reaches(await kubeconfig(`    server: ${kube.server}\n${mainCa}\n    tls-server-name: elsewhere.tenure.test`, user, box.namespace)), /TLS verification of .* failed/);
  });
});

describe("proxies", () => {
  it("proxy-url: a CONNECT tunnel with Basic credentials, to a name only the proxy can resolve", async () => {
    const box = await sandbox("kc-proxy-url");
    const token = await kube.serviceAccountToken(box.namespace, "elector");
    const at = authProxy.url.replace("http://", "http://elector:s3cret@");
    const cluster = `    server: https://${kube.sni.name}:${port}\n    certificate-authority-data: ${b64(kube.sni.caPem)}\n    proxy-url: ${at}`;
    const before = authProxy.tunnels.length;
    await reaches(await kubeconfig(cluster, `    token: ${token}`, box.namespace));
    const tunnels = authProxy.tunnels.slice(before);
    assert.ok(tunnels.length > 0);
    assert.deepEqual(new Set(tunnels.map((t) => t.target)), new Set([`${kube.sni.name}:${port}`]));
    assert.equal(tunnels[0]!.authorization, `Basic ${b64("elector:s3cret")}`);
  });

  it("proxy-url socks5: the proxy resolves the name, as with client-go", async () => {
    const box = await sandbox("kc-socks");
    const token = await kube.serviceAccountToken(box.namespace, "elector");
    const cluster = `    server: https://${kube.sni.name}:${port}\n    certificate-authority-data: ${b64(kube.sni.caPem)}\n    proxy-url: ${socks.url}`;
    await reaches(await kubeconfig(cluster, `    token: ${token}`, box.namespace));
    assert.deepEqual(new Set(socks.tunnels.map((t) => t.target)), new Set([`${kube.sni.name}:${port}`]));
  });

  it("proxy-url https: the CONNECT inside TLS to the proxy, which is checked with the cluster's CA, as Go does", async () => {
    const box = await sandbox("kc-https-proxy");
    const token = await kube.serviceAccountToken(box.namespace, "elector");
    // Go's transport checks an https proxy with the cluster's TLS settings: a certificate of the cluster's CA.
    const ca = { certFile: kube.caFile, keyFile: join(kube.dir, "pki", "ca.key") };
    const cert = await issueCert({ ca, base: join(dir, "https-proxy"), commonName: "127.0.0.1", usage: "serverAuth", subjectAltName: "IP:127.0.0.1" });
    const tlsProxy = await connectProxy({}, undefined, { cert: cert.certPem, key: cert.keyPem });
    try {
      const cluster = `    server: ${kube.server}\n    certificate-authority-data: ${b64(kube.caPem)}\n    proxy-url: ${tlsProxy.url}`;
      await reaches(await kubeconfig(cluster, `    token: ${token}`, box.namespace));
      assert.deepEqual(new Set(tlsProxy.tunnels.map((t) => t.target)), new Set([new URL(kube.server).host]));
    } finally {
      await tlsProxy.close();
    }
  });

  it("HTTPS_PROXY, and NO_PROXY and loopback addresses past it, by Go's rules", async () => {
    const box = await sandbox("kc-proxy-env");
    const token = await kube.serviceAccountToken(box.namespace, "elector");
    const byName = await kubeconfig(`    server: https://${kube.sni.name}:${port}\n    certificate-authority-data: ${b64(kube.sni.caPem)}`, `    token: ${token}`, box.namespace);
    const byAddress = await kubeconfig(`    server: ${kube.server}\n    certificate-authority-data: ${b64(kube.caPem)}`, `    token: ${token}`, box.namespace);
    await withEnv({ HTTPS_PROXY: undefined, https_proxy: proxy.url, NO_PROXY: undefined, no_proxy: undefined }, async () => {
      let before = proxy.tunnels.length;
      await reaches(byName);
      assert.ok(proxy.tunnels.slice(before).some((t) => t.target === `${kube.sni.name}:${port}`), "through the proxy");
      // client-go never proxies a loopback address, whatever HTTPS_PROXY says.
      before = proxy.tunnels.length;
      await reaches(byAddress);
      assert.equal(proxy.tunnels.length, before, "straight to 127.0.0.1");
    });
    // NO_PROXY names the domain: straight there, where no DNS knows the name.
    await withEnv({ HTTPS_PROXY: proxy.url, NO_PROXY: `.example.com, ${kube.sni.name.split(".").slice(1).join(".")}` }, async () => {
      const before = proxy.tunnels.length;
      await assert.rejects(reaches(byName), /could not reach https:\/\/kubernetes\.tenure\.test/);
      assert.equal(proxy.tunnels.length, before);
    });
  });

  it("a proxy of a scheme client-go does not know is a KubeconfigError", async () => {
    const path = await kubeconfig(`    server: ${kube.server}\n    proxy-url: ftp://127.0.0.1:21`, "    token: x", "default");
    const error = await fromKubeconfig({ path }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof KubeconfigError && error instanceof TenureError, String(error));
    assert.match(error.message, /proxy-url "ftp:\/\/127\.0\.0\.1:21" of kubeconfig cluster "c" is not an http, https or socks5 URL/);
  });
});

describe("exec plugins", () => {
  it("a relative command runs from the kubeconfig's folder, given the CA file and the exec extension", async () => {
    const box = await sandbox("kc-exec-relative");
    const token = await kube.serviceAccountToken(box.namespace, "elector");
    const folder = join(dir, "home");
    await mkdir(join(folder, "bin"), { recursive: true });
    const seen = join(folder, "exec-info.json");
    await writeFile(join(folder, "bin", "get-token"), `#!/bin/sh
printf '%s' "$KUBERNETES_EXEC_INFO" > "${seen}"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "${token}"
`);
    await chmod(join(folder, "bin", "get-token"), 0o755);
    await writeFile(join(folder, "ca.crt"), kube.caPem);
    const cluster = `    server: ${kube.server}
    certificate-authority: ca.crt
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: {audience: tenure-test, region: &r eu-west-1, regions: [*r]}`;
    const user = `    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/get-token
      provideClusterInfo: true
      interactiveMode: Never`;
    // From another working directory, where ./bin/get-token does not exist.
    assert.notEqual(process.cwd(), folder);
    await reaches(await kubeconfig(cluster, user, box.namespace, folder));
    const info = JSON.parse(await readFile(seen, "utf8"));
    assert.equal(info.spec.cluster.server, kube.server);
    assert.equal(Buffer.from(info.spec.cluster["certificate-authority-data"], "base64").toString(), kube.caPem);
    assert.deepEqual(info.spec.cluster.config, { audience: "tenure-test", region: "eu-west-1", regions: ["eu-west-1"] });
  });
});
