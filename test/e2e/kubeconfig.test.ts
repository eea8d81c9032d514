/**
 * fromKubeconfig against the real API server: token, token file, client certificate, and an exec
 * credential plugin (a small script), plus context selection and KUBECONFIG lists.
 */
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { emptyRecord } from "../../src/record.ts";
import { cluster, fromKubeconfig, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { execCredentials } from "../../adapters/kubernetes/exec-credential.ts";
import { runtime } from "../../adapters/runtime/node.ts";
import { contend, eventually, kube, sandbox } from "./support.ts";

const dir = await mkdtemp(join(tmpdir(), "tenure-kubeconfig-"));
let files = 0;

/** Writes a kubeconfig (as YAML, the way kubectl writes it) with one context per user. */
const kubeconfig = async (users: Record<string, string>, namespace: string, current = Object.keys(users)[0]!): Promise<string> => {
  const path = join(dir, `config-${++files}`);
  const contexts = Object.keys(users)
    .map((name) => `- context:\n    cluster: test\n    user: ${name}\n    namespace: ${namespace}\n  name: ${name}`)
    .join("\n");
  const userEntries = Object.entries(users).map(([name, body]) => `- name: ${name}\n  user:\n${body}`).join("\n");
  await writeFile(path, `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ${Buffer.from(kube.caPem).toString("base64")}
    server: ${kube.server}
  name: test
contexts:
${contexts}
current-context: ${current}
users:
${userEntries}
preferences: {}
`);
  return path;
};

/** Acquires the Lease through the kubeconfig's credentials. */
const elects = async (path: string, context?: string): Promise<void> => {
  const cluster = await fromKubeconfig(context === undefined ? { path } : { path, context });
  const a = contend("pod-a", leaseLock(cluster, { name: "lock" }));
  try {
    assert.ok(await eventually(() => a.elector.isLeader() || a.errors.length > 0, 5_000));
    assert.deepEqual(a.errors.map((e) => e.message), []);
    assert.ok(a.elector.isLeader());
  } finally {
    a.controller.abort();
    await a.done;
  }
};

describe("fromKubeconfig", () => {
  it("a bearer token, with the namespace from the context", async () => {
    const box = await sandbox("kc-token");
    const token = await kube.serviceAccountToken(box.namespace, "elector");
    await elects(await kubeconfig({ sa: `    token: ${token}` }, box.namespace));
  });

  it("a token file, relative to the kubeconfig", async () => {
    const box = await sandbox("kc-tokenfile");
    await writeFile(join(dir, "token"), await kube.serviceAccountToken(box.namespace, "elector"));
    await elects(await kubeconfig({ sa: "    tokenFile: token" }, box.namespace));
  });

  it("a client certificate (files, and inline data)", async () => {
    const box = await sandbox("kc-cert");
    const cert = await kube.issueClientCert("alice", ["system:masters"]);
    await elects(await kubeconfig({ files: `    client-certificate: ${cert.certFile}\n    client-key: ${cert.keyFile}` }, box.namespace));
    const inline = `    client-certificate-data: ${Buffer.from(cert.certPem).toString("base64")}\n    client-key-data: ${Buffer.from(cert.keyPem).toString("base64")}`;
    await elects(await kubeconfig({ inline }, box.namespace));
  });

  it("an exec credential plugin (client.authentication.k8s.io/v1), given the cluster info it asked for", async () => {
    const box = await sandbox("kc-exec");
    const token = await kube.serviceAccountToken(box.namespace, "elector");
    const plugin = join(dir, "plugin.sh");
    const seen = join(dir, "exec-info.json");
    await writeFile(plugin, `#!/bin/sh
printf '%s' "$KUBERNETES_EXEC_INFO" > "${seen}"
[ "$1" = "get-token" ] && [ "$PLUGIN_MODE" = "test" ] || { echo "bad args or env" >&2; exit 3; }
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2099-01-01T00:00:00Z"}}' "${token}"
`);
    await chmod(plugin, 0o755);
    const exec = `    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ${plugin}
      args: ["get-token"]
      env:
      - name: PLUGIN_MODE
        value: test
      provideClusterInfo: true
      interactiveMode: Never`;
    await elects(await kubeconfig({ exec }, box.namespace));
    const info = JSON.parse(await readFile(seen, "utf8"));
    assert.equal(info.kind, "ExecCredential");
    assert.equal(info.spec.interactive, false);
    assert.equal(info.spec.cluster.server, kube.server);
  });

  it("a failing plugin gives its stderr and install hint, and no leadership", async () => {
    const box = await sandbox("kc-exec-fail");
    const exec = `    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: /nonexistent/cloud-auth-plugin
      installHint: install cloud-auth-plugin from your provider`;
    const cluster = await fromKubeconfig({ path: await kubeconfig({ exec }, box.namespace) });
    const a = contend("pod-a", leaseLock(cluster, { name: "lock" }));
    assert.ok(await eventually(() => a.errors.length > 0, 5_000));
    assert.equal(a.elector.isLeader(), false);
    assert.match(a.errors[0]!.message, /exec credential plugin "\/nonexistent\/cloud-auth-plugin" .*\ninstall cloud-auth-plugin from your provider/s);
    a.controller.abort();
    await a.done;
  });

  it("a plugin that hangs at first is stopped, reported, and run again; then the elector leads", async () => {
    const box = await sandbox("kc-exec-hang");
    const token = await kube.serviceAccountToken(box.namespace, "elector");
    const plugin = join(dir, "hang-once.sh");
    // The first run hangs (a get-token stuck on its metadata service); later runs answer.
    await writeFile(plugin, `#!/bin/sh
[ -e "${plugin}.ran" ] || { touch "${plugin}.ran"; sleep 30; }
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "${token}"
`);
    await chmod(plugin, 0o755);
    // The default limit is 60 s; a short one keeps the test short. The limit itself is the same code.
    const credentials = execCredentials(runtime, { apiVersion: "client.authentication.k8s.io/v1", command: plugin }, { server: kube.server }, { timeout: 1_500 });
    const c = cluster({ server: kube.server, fetch: runtime.tlsFetch({ ca: kube.caPem }), credentials, namespace: box.namespace });
    const a = contend("pod-a", leaseLock(c, { name: "lock" }));
    try {
      assert.ok(await eventually(() => a.elector.isLeader(), 15_000), `never led: ${a.errors.map((e) => e.message).join("; ")}`);
      assert.ok(a.errors.length > 0, "the hung plugin was reported");
      assert.ok(
        a.errors.some((e) => /exec credential plugin ".*hang-once\.sh" did not finish within 1500 ms and was stopped/.test(e.message)),
        a.errors.map((e) => e.message).join("; "),
      );
    } finally {
      a.controller.abort();
      await a.done;
    }
  });

  it("picks the named context, and the first definition in a KUBECONFIG list", async () => {
    const box = await sandbox("kc-context");
    const token = await kube.serviceAccountToken(box.namespace, "elector");
    const path = await kubeconfig({ broken: "    token: not-a-valid-token", sa: `    token: ${token}` }, box.namespace, "broken");
    await elects(path, "sa");
    await assert.rejects(fromKubeconfig({ path, context: "nope" }), /kubeconfig has no context "nope" \(there are: broken, sa\)/);
    process.env["KUBECONFIG"] = `${join(dir, "missing")}:${path}`;
    try {
      assert.equal((await fromKubeconfig()).namespace, box.namespace);
    } finally {
      delete process.env["KUBECONFIG"];
    }
  });

  it("insecure-skip-tls-verify works and warns once", async () => {
    const box = await sandbox("kc-insecure");
    const token = await kube.serviceAccountToken(box.namespace, "elector");
    const path = join(dir, "insecure");
    await writeFile(path, JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: kube.server, "insecure-skip-tls-verify": true } }],
      users: [{ name: "u", user: { token } }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u", namespace: box.namespace } }],
      "current-context": "x",
    }));
    const warnings: string[] = [];
    const cluster = await fromKubeconfig({ path, warn: (m) => warnings.push(m) });
    const lock = leaseLock(cluster, { name: "lock" });
    await lock.create({ ...emptyRecord, leaseDurationSeconds: 1 }, AbortSignal.timeout(5_000));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /TLS verification is OFF for https:\/\/127\.0\.0\.1:\d+/);
  });
});
