/**
 * Where fromKubeconfig looks, by kubectl's rules for the platform: `KUBECONFIG` is a list separated
 * by `;` on Windows and `:` elsewhere, the default is `<home>/.kube/config`, and paths inside a
 * file are relative to that file's folder. Windows is a fake platform here (there is no Windows
 * machine): a runtime stand-in with `windows: true` and files keyed by Windows paths.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromKubeconfigWith } from "../../../adapters/kubernetes/kubeconfig.ts";
import type { Runtime, TlsOptions } from "../../../adapters/runtime/runtime.ts";

interface Machine {
  readonly runtime: Runtime;
  /** Every path read, in order. */
  readonly reads: string[];
  /** The TLS settings each fetch was built with. */
  readonly tls: TlsOptions[];
}

const machine = (windows: boolean, env: Record<string, string>, files: Record<string, string>): Machine => {
  const reads: string[] = [];
  const tls: TlsOptions[] = [];
  return {
    reads,
    tls,
    runtime: {
      name: "node",
      windows,
      tlsFetch: (options) => (tls.push(options), (url, init) => fetch(url, init)),
      readFile: async (path) => {
        reads.push(path);
        const text = files[path];
        if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
        return text;
      },
      env: (name) => env[name],
    },
  };
};

const CLUSTER = `
current-context: dev
clusters:
- name: dev
  cluster: { server: "https://kube.test:6443", certificate-authority: 'certs\\ca.crt' }
contexts:
- name: dev
  context: { cluster: dev, user: dev, namespace: team }
`;
const USER = `
users:
- name: dev
  user: { tokenFile: 'tokens/dev.txt' }
`;

describe("KUBECONFIG and paths on Windows", () => {
  it("splits KUBECONFIG on ';' only, and resolves paths against each file's own folder", async () => {
    const m = machine(true, { KUBECONFIG: "C:\\Users\\me\\.kube\\config;D:\\work\\user.yaml" }, {
      "C:\\Users\\me\\.kube\\config": CLUSTER,
      "D:\\work\\user.yaml": USER,
      "C:\\Users\\me\\.kube\\certs\\ca.crt": "CA PEM",
      "D:\\work\\tokens\\dev.txt": "token-from-d",
    });
    const cluster = await fromKubeconfigWith(m.runtime);
    assert.equal(await cluster.credentials?.authorization(), "Bearer token-from-d");
    assert.equal(m.tls[0]?.ca, "CA PEM");
    assert.equal(cluster.namespace, "team");
    assert.deepEqual(m.reads, ["C:\\Users\\me\\.kube\\config", "D:\\work\\user.yaml", "C:\\Users\\me\\.kube\\certs\\ca.crt", "D:\\work\\tokens\\dev.txt"]);
  });

  it("defaults to .kube\\config in the user's profile", async () => {
    const m = machine(true, { USERPROFILE: "C:\\Users\\me" }, {
      "C:\\Users\\me\\.kube\\config": CLUSTER + USER,
      "C:\\Users\\me\\.kube\\certs\\ca.crt": "CA PEM",
      "C:\\Users\\me\\.kube\\tokens\\dev.txt": "token",
    });
    await fromKubeconfigWith(m.runtime);
    assert.equal(m.reads[0], "C:\\Users\\me\\.kube\\config");
  });

  it("keeps absolute paths as they are: drive letters with either slash, and UNC shares", async () => {
    const config = (ca: string, token: string) => CLUSTER.replace("certs\\ca.crt", ca) + USER.replace("tokens/dev.txt", token);
    for (const [ca, token] of [["E:\\pki\\ca.crt", "E:/tokens/dev"], ["\\\\fileserver\\pki\\ca.crt", "//fileserver/tokens/dev"]] as const) {
      const m = machine(true, { KUBECONFIG: "C:\\kube\\config" }, { "C:\\kube\\config": config(ca, token), [ca]: "CA", [token]: "T" });
      const cluster = await fromKubeconfigWith(m.runtime);
      assert.equal(await cluster.credentials?.authorization(), "Bearer T");
      assert.deepEqual(m.reads.slice(1), [ca, token]);
    }
  });

  it("a file at the root of a drive resolves against the drive's root", async () => {
    const m = machine(true, {}, { "C:\\config": CLUSTER + USER, "C:\\certs\\ca.crt": "CA", "C:\\tokens\\dev.txt": "T" });
    const cluster = await fromKubeconfigWith(m.runtime, { path: "C:\\config" });
    await cluster.credentials?.authorization();
    assert.deepEqual(m.reads, ["C:\\config", "C:\\certs\\ca.crt", "C:\\tokens\\dev.txt"]);
  });

  it("lists the paths it tried with ';' when none has a current context", async () => {
    const m = machine(true, { KUBECONFIG: "C:\\a\\config;C:\\b\\config" }, { "C:\\a\\config": "{}", "C:\\b\\config": "{}" });
    await assert.rejects(fromKubeconfigWith(m.runtime), /^KubeconfigError: kubeconfig C:\\a\\config;C:\\b\\config has no current-context/);
  });
});

describe("KUBECONFIG and paths elsewhere", () => {
  it("splits KUBECONFIG on ':' only: a ';' is part of a file name", async () => {
    const m = machine(false, { KUBECONFIG: "/home/me/odd;name/config:/etc/kube/user.yaml" }, {
      "/home/me/odd;name/config": CLUSTER.replace("certs\\ca.crt", "certs/ca.crt"),
      "/etc/kube/user.yaml": USER,
      "/home/me/odd;name/certs/ca.crt": "CA PEM",
      "/etc/kube/tokens/dev.txt": "T",
    });
    const cluster = await fromKubeconfigWith(m.runtime);
    assert.equal(await cluster.credentials?.authorization(), "Bearer T");
    assert.deepEqual(m.reads, ["/home/me/odd;name/config", "/etc/kube/user.yaml", "/home/me/odd;name/certs/ca.crt", "/etc/kube/tokens/dev.txt"]);
  });

  it("defaults to ~/.kube/config", async () => {
    const m = machine(false, { HOME: "/home/me" }, {});
    await assert.rejects(fromKubeconfigWith(m.runtime), /cannot read kubeconfig \/home\/me\/\.kube\/config/);
  });
});
