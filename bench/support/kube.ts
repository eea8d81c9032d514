/**
 * The real test cluster for the benchmarks (test/cluster's harness), and what every run needs on it:
 * a namespace with a ServiceAccount bound to the README's Role, its token, and lease reads.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster } from "../../test/cluster/cluster.ts";
import type { TestCluster } from "../../test/cluster/client.ts";

export type { TestCluster };

/** Starts etcd + kube-apiserver (built once and cached; the first build takes minutes and says so). */
export const startBenchCluster = async (): Promise<TestCluster> => {
  const started = performance.now();
  const kube = await startCluster();
  console.error(`[bench] cluster ready in ${((performance.now() - started) / 1000).toFixed(1)} s at ${kube.server}`);
  return kube;
};

/** What an elector needs on Leases, and nothing else (the README's Role). */
const ELECTION_RULES: readonly object[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update", "watch"] },
];

export interface Sandbox {
  readonly namespace: string;
  readonly token: string;
  /** The token in a file, for programs that take --token-file. */
  readonly tokenFile: string;
}

const must = async (what: string, response: Promise<{ status: number; text: string }>): Promise<void> => {
  const { status, text } = await response;
  if (status >= 300) throw new Error(`${what}: HTTP ${status}: ${text}`);
};

/** A fresh namespace and ServiceAccount `elector` bound to the election Role (or `rules`), with a 2-hour token. */
export const sandbox = async (kube: TestCluster, prefix: string, rules: readonly object[] = ELECTION_RULES): Promise<Sandbox> => {
  const namespace = await kube.createNamespace(prefix);
  await must("create role", kube.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "leader-election" },
    rules,
  }));
  await must("create rolebinding", kube.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "leader-election" },
    subjects: [{ kind: "ServiceAccount", name: "elector", namespace }],
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "leader-election" },
  }));
  const token = await kube.serviceAccountToken(namespace, "elector", { expirationSeconds: 7200 });
  const dir = await mkdtemp(join(tmpdir(), "tenure-bench-sa-"));
  const tokenFile = join(dir, "token");
  await writeFile(tokenFile, token, { mode: 0o600 });
  // RBAC is served from an informer cache: wait until the binding takes effect.
  for (let i = 0; ; i++) {
    const { status } = await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/probe`, undefined, token);
    if (status === 404) break;
    if (i >= 100) throw new Error(`RBAC for ${namespace} did not take effect within 5 s (HTTP ${status})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { namespace, token, tokenFile };
};

export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly renewTime?: string;
  readonly leaseDurationSeconds?: number;
  readonly leaseTransitions?: number;
}

export const readLease = async (kube: TestCluster, namespace: string, name: string): Promise<LeaseSpec | undefined> => {
  const response = await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`);
  return response.status === 200 ? (response.json.spec as LeaseSpec) : undefined;
};

/** Epoch milliseconds (with the fraction) of an RFC3339 UTC time with up to nine fractional digits. */
export const epochMs = (text: string): number => {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text);
  if (match === null) throw new Error(`not an RFC3339 UTC time: ${text}`);
  const seconds = Date.parse(`${match[1]}Z`);
  const fraction = Number(`0.${match[2] ?? "0"}`);
  return seconds + fraction * 1000;
};

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 5 ms until it holds; false after `limit` ms. */
export const until = async (check: () => boolean, limit: number): Promise<boolean> => {
  const end = performance.now() + limit;
  while (!check()) {
    if (performance.now() > end) return false;
    await sleep(5);
  }
  return true;
};

/** Sleeps until performance.now() has reached `at` (timers may fire a fraction of a millisecond early). */
export const sleepUntil = async (at: number): Promise<void> => {
  while (performance.now() < at) await sleep(Math.max(1, at - performance.now()));
};
