/**
 * How fromKubeconfig and inCluster decide to connect (the connecting itself is the e2e suite's
 * part, against the real cluster): the proxy client-go would choose, what each runtime cannot do
 * refused by name, exec plugin commands and cluster info as kubectl gives them, and failures as
 * classes a caller can catch. The proxy cases' answers are those of Go's golang.org/x/net
 * httpproxy (v0.61.0, which net/http vendors), checked with a small Go program.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../../adapters/kubernetes/connect.ts";
import { inClusterWith } from "../../../adapters/kubernetes/in-cluster.ts";
import { fromKubeconfigWith } from "../../../adapters/kubernetes/kubeconfig.ts";
import { chooseProxy } from "../../../adapters/kubernetes/proxy.ts";
import { InClusterError, KubeconfigError } from "../../../adapters/kubernetes/setup-errors.ts";
import { type Abilities, type Runtime, type TlsOptions, UnsupportedError } from "../../../adapters/runtime/runtime.ts";
import { TenureError } from "../../../src/errors.ts";

interface Machine {
  readonly runtime: Runtime;
  /** What each fetch was built with. */
  readonly fetches: { readonly tls: TlsOptions; readonly proxy: string | undefined }[];
  /** Each plugin run: command and KUBERNETES_EXEC_INFO. */
  readonly runs: { readonly command: string; readonly info: any }[];
}

const NODE: Abilities = { serverName: true, proxies: ["http:", "https:", "socks5:"], direct: true };
const DENO: Abilities = { serverName: false, proxies: ["http:", "https:", "socks5:"], direct: false };
const BUN: Abilities = { serverName: true, proxies: ["http:", "https:"], direct: true };

const machine = (files: Record<string, string>, env: Record<string, string> = {}, can: Abilities = NODE, windows = false): Machine => {
  const fetches: Machine["fetches"] = [];
  const runs: Machine["runs"] = [];
  const token = JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "t" } });
  return {
    fetches,
    runs,
    runtime: {
      name: can === DENO ? "deno" : can === BUN ? "bun" : "node",
      windows,
      can,
      tlsFetch: (tls, proxy) => (fetches.push({ tls, proxy: proxy?.href }), (url, init) => fetch(url, init)),
      readFile: async (path) => files[path] ?? Promise.reject(new Error(`ENOENT: ${path}`)),
      env: (name) => env[name],
      spawn: (command, _, vars) => {
        runs.push({ command, info: JSON.parse(vars["KUBERNETES_EXEC_INFO"] ?? "null") });
        return { stdout: new Response(token).body!, stderr: new Response("").body!, exited: Promise.resolve(0), kill: () => {} };
      },
    },
  };
};

const config = (cluster: string, user = "token: abc"): string => `
clusters:
- name: c
  cluster:
    ${cluster.trim().split("\n").join("\n    ")}
users:
- name: u
  user:
    ${user.trim().split("\n").join("\n    ")}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`;

const failure = async (promise: Promise<unknown>): Promise<Error> => {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof Error, "it was accepted");
  return error;
};

describe("the proxy, by Go's rules", () => {
  const P = "http://proxy.corp:3128";
  const cases: readonly (readonly [server: string, noProxy: string, proxied: boolean])[] = [
    ["https://api.example.com:6443", "", true],
    ["https://api.example.com:6443", "*", false],
    ["https://api.example.com:6443", "example.com", false],
    ["https://example.com", ".example.com", true],
    ["https://api.example.com:6443", "*.example.com", false],
    ["https://api.example.com:6443", "api.example.com:443", true],
    ["https://api.example.com:6443", "api.example.com:6443", false],
    ["https://api.example.com:6443", " Example.COM , foo", false],
    ["https://api.example.com:6443", "10.0.0.0/8", true],
    ["https://10.1.2.3:6443", "10.0.0.0/8", false],
    ["https://10.1.2.3:6443", "10.1.2.3:443", true],
    ["https://10.1.2.3:6443", "example.com", true],
    ["https://[fd00::1]:6443", "fd00::/8", false],
    ["https://[fd00::1]:6443", "[fd00::1]:6443", false],
    ["https://[::ffff:10.1.2.3]:6443", "10.1.2.3", false],
    ["https://192.168.1.20", "192.168.1.20:443", false],
    ["https://kubernetes.tenure.test:6443", "tenure.test", false],
    ["https://api.example.com:6443", ":6443", true],
    // never for localhost and loopback addresses, whatever NO_PROXY says
    ["https://127.0.0.2:6443", "", false],
    ["https://localhost:6443", "", false],
    ["https://[::1]:6443", "", false],
  ];
  for (const [server, noProxy, proxied] of cases) {
    it(`${server} with NO_PROXY=${JSON.stringify(noProxy)}: ${proxied ? "through the proxy" : "directly"}`, () => {
      const choice = chooseProxy(new URL(server), undefined, (name) => ({ HTTPS_PROXY: P, NO_PROXY: noProxy })[name]);
      assert.equal(choice.proxy?.href, proxied ? `${P}/` : undefined);
    });
  }

  it("HTTPS_PROXY for https servers and HTTP_PROXY for http ones, upper case first; no scheme means http", () => {
    const env = (vars: Record<string, string>) => (name: string) => vars[name];
    assert.equal(chooseProxy(new URL("https://a.example"), undefined, env({ HTTP_PROXY: P })).proxy, undefined);
    assert.equal(chooseProxy(new URL("http://a.example"), undefined, env({ HTTP_PROXY: P })).proxy?.href, `${P}/`);
    assert.equal(chooseProxy(new URL("https://a.example"), undefined, env({ HTTPS_PROXY: "a:1", https_proxy: "b:2" })).proxy?.href, "http://a:1/");
    assert.equal(chooseProxy(new URL("https://a.example"), undefined, env({ https_proxy: "127.0.0.1:3128" })).proxy?.href, "http://127.0.0.1:3128/");
  });

  it("proxy-url wins over the environment, for any host", () => {
    const choice = chooseProxy(new URL("https://127.0.0.1:6443"), "socks5://p:1080", (name) => ({ HTTPS_PROXY: P, NO_PROXY: "*" })[name]);
    assert.deepEqual([choice.proxy?.href, choice.from], ["socks5://p:1080", "proxy-url"]);
  });
});

describe("what a runtime cannot do is refused by name", () => {
  it("tls-server-name on Deno, whose fetch sends the URL's host", async () => {
    const m = machine({ "/k": config("server: https://10.0.0.1:6443\ntls-server-name: kube.teleport.example") }, {}, DENO);
    const error = await failure(fromKubeconfigWith(m.runtime, { path: "/k" }));
    assert.ok(error instanceof UnsupportedError && error instanceof TenureError);
    assert.match(error.message, /on Deno cannot send the TLS server name "kube\.teleport\.example" \(tls-server-name of kubeconfig cluster "c"\) to 10\.0\.0\.1:6443: its fetch sends the URL.s host; run under Node or Bun/);
    // The same name as the URL's host asks nothing special.
    const same = machine({ "/k": config("server: https://kube.example:443\ntls-server-name: kube.example") }, {}, DENO);
    await fromKubeconfigWith(same.runtime, { path: "/k" });
  });

  it("a socks5 proxy on Bun", async () => {
    const m = machine({ "/k": config("server: https://10.0.0.1\nproxy-url: socks5://127.0.0.1:1080") }, {}, BUN);
    const error = await failure(fromKubeconfigWith(m.runtime, { path: "/k" }));
    assert.ok(error instanceof UnsupportedError);
    assert.match(error.message, /on Bun cannot connect through the socks5 proxy 127\.0\.0\.1:1080 \(proxy-url of kubeconfig cluster "c"\); it can use http and https proxies/);
  });

  it("Deno is warned where its own HTTPS_PROXY rules and Go's differ", async () => {
    const warnings: string[] = [];
    const m = machine({ "/k": config("server: https://127.0.0.1:6443") }, { HTTPS_PROXY: "http://proxy:3128" }, DENO);
    await fromKubeconfigWith(m.runtime, { path: "/k", warn: (w) => warnings.push(w) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /HTTPS_PROXY is set, and client-go would connect to 127\.0\.0\.1:6443 directly \(Go never proxies localhost or a loopback address\), but Deno's fetch applies HTTPS_PROXY by its own rules/);
  });

  it("the fetch gets the server name and the proxy chosen", async () => {
    const m = machine({ "/k": config("server: https://kube.example:443\ntls-server-name: other.example\nproxy-url: http://u:p@proxy:3128") });
    await fromKubeconfigWith(m.runtime, { path: "/k" });
    assert.deepEqual(m.fetches, [{ tls: { serverName: "other.example" }, proxy: "http://u:p@proxy:3128/" }]);
  });
});

describe("exec plugins as kubectl runs them", () => {
  const exec = (command: string) => `exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: ${command}\n  provideClusterInfo: true`;

  it("a command with a path separator is relative to the kubeconfig's folder; a bare name is looked up on PATH", async () => {
    for (const [command, windows, run] of [
      ["./bin/get-token", false, "/home/me/.kube/./bin/get-token"],
      ["get-token", false, "get-token"],
      ["/opt/get-token", false, "/opt/get-token"],
      // Go's filepath.Separator on Windows is `\`: kubectl leaves `./bin/get-token` to the working directory there.
      ["bin\\get-token.exe", true, "C:\\Users\\me\\.kube\\bin\\get-token.exe"],
      ["./bin/get-token", true, "./bin/get-token"],
    ] as const) {
      const path = windows ? "C:\\Users\\me\\.kube\\config" : "/home/me/.kube/config";
      const m = machine({ [path]: config("server: https://10.0.0.1", exec(command)) }, {}, NODE, windows);
      const cluster = await fromKubeconfigWith(m.runtime, { path });
      await cluster.credentials?.authorization();
      assert.equal(m.runs[0]?.command, run, command);
    }
  });

  it("provideClusterInfo: the CA from a file too, the server name, proxy-url, and the exec extension as config", async () => {
    const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const cluster = `server: https://kube.example:6443
certificate-authority: ca.crt
tls-server-name: other.example
proxy-url: http://proxy:3128
extensions:
- name: client.authentication.k8s.io/exec
  extension: {audience: sts.example, nested: {a: [1, 2]}}
- name: something-else
  extension: {x: 1}`;
    const m = machine({ "/k/config": config(cluster, exec("get-token")), "/k/ca.crt": ca });
    await (await fromKubeconfigWith(m.runtime, { path: "/k/config" })).credentials?.authorization();
    assert.deepEqual(m.runs[0]?.info.spec.cluster, {
      server: "https://kube.example:6443",
      "tls-server-name": "other.example",
      "certificate-authority-data": btoa(ca),
      "proxy-url": "http://proxy:3128/",
      config: { audience: "sts.example", nested: { a: [1, 2] } },
    });
  });
});

describe("failures a caller can catch by class", () => {
  const kubeconfigError = async (m: Machine, path = "/k"): Promise<KubeconfigError> => {
    const error = await failure(fromKubeconfigWith(m.runtime, { path }));
    assert.ok(error instanceof KubeconfigError && error instanceof TenureError, `${error.name}: ${error.message}`);
    assert.equal(error.name, "KubeconfigError");
    return error;
  };

  it("a missing file, bad YAML (with its line), a bad schema, an unknown context", async () => {
    assert.equal((await kubeconfigError(machine({}))).path, "/k");
    const yaml = await kubeconfigError(machine({ "/k": "a: [1,\n" }));
    assert.deepEqual([yaml.path, yaml.line, yaml.column], ["/k", 1, 4]);
    assert.match(yaml.message, /^kubeconfig \/k line 1, column 4: a \[ that is never closed/);
    await kubeconfigError(machine({ "/k": "users: 7\n" }));
    await kubeconfigError(machine({ "/k": config("server: https://a").replace("current-context: x", "current-context: nope") }));
  });

  it("what kubectl would do and tenure will not: impersonation, basic auth, a plugin in the wrong version", async () => {
    assert.match((await kubeconfigError(machine({ "/k": config("server: https://a", "token: t\nas: admin") }))).message, /impersonates "admin" \(as\)/);
    await fromKubeconfigWith(machine({ "/k": config("server: https://a", "token: t\nas: ''\nas-groups: []") }).runtime, { path: "/k" });
    assert.match((await kubeconfigError(machine({ "/k": config("server: https://a", "password: p") }))).message, /basic auth/);
    assert.match((await kubeconfigError(machine({ "/k": config("server: https://a", "exec: {apiVersion: v0, command: x}") }))).message, /apiVersion v0 is not supported/);
  });

  it("inCluster outside a pod, or without its service account", async () => {
    const outside = await failure(inClusterWith(machine({}).runtime, {}, connect));
    assert.ok(outside instanceof InClusterError && outside instanceof TenureError);
    const env = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" };
    const noCa = await failure(inClusterWith(machine({}, env).runtime, {}, connect));
    assert.ok(noCa instanceof InClusterError);
    assert.match(noCa.message, /cannot read the cluster CA/);
    const noToken = await failure(inClusterWith(machine({ "/sa/ca.crt": "CA" }, env).runtime, { serviceAccountDir: "/sa" }, connect));
    assert.ok(noToken instanceof InClusterError);
    assert.match(noToken.message, /cannot read the service-account token at \/sa\/token/);
  });
});
