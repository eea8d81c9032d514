/**
 * What end-to-end tests share: the running test cluster, a namespace with a ServiceAccount whose
 * Role allows exactly what the README documents, in-cluster files for it, and electors that
 * record what they saw.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectCluster } from "../cluster/connect.ts";
import type { TestCluster } from "../cluster/client.ts";
import { type Cluster, cluster, inCluster } from "../../adapters/kubernetes/entry-node.ts";
import { runtime } from "../../adapters/runtime/node.ts";
import { sleep } from "../support/wait.ts";
import { createElector, type Elector, type ElectorOptions, type Lock, type LockError, type Term } from "../../src/index.ts";

export const kube: TestCluster = await connectCluster();

/** The Role from the README: what an elector needs on Leases, and nothing else. */
export const ELECTION_RULES: readonly object[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update", "watch"] },
];

export interface Sandbox {
  readonly namespace: string;
  /** A folder laid out like a pod's service-account mount: token, ca.crt, namespace. */
  readonly serviceAccountDir: string;
  readonly tokenFile: string;
}

/** A fresh namespace and ServiceAccount `elector`, bound to `rules` (`null`: no permissions at all), on `on` (default: the shared test cluster). */
export const sandbox = async (prefix: string, rules: readonly object[] | null = ELECTION_RULES, on: TestCluster = kube): Promise<Sandbox> => {
  const namespace = await on.createNamespace(prefix);
  if (rules !== null) {
    await must(on.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "leader-election" },
      rules,
    }));
    await must(on.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "leader-election" },
      subjects: [{ kind: "ServiceAccount", name: "elector", namespace }],
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "leader-election" },
    }));
  }
  const token = await on.serviceAccountToken(namespace, "elector", { expirationSeconds: 3600 });
  const serviceAccountDir = await mkdtemp(join(tmpdir(), "tenure-sa-"));
  const tokenFile = join(serviceAccountDir, "token");
  await writeFile(tokenFile, token);
  await writeFile(join(serviceAccountDir, "ca.crt"), on.caPem);
  await writeFile(join(serviceAccountDir, "namespace"), namespace);
  if (rules !== null) await rbacReady(on, namespace, token);
  return { namespace, serviceAccountDir, tokenFile };
};

const must = async (response: Promise<{ status: number; text: string }>): Promise<void> => {
  const { status, text } = await response;
  if (status >= 300) throw new Error(`HTTP ${status}: ${text}`);
};

/** RBAC is served from an informer cache: wait until the binding takes effect. */
const rbacReady = async (on: TestCluster, namespace: string, token: string): Promise<void> => {
  for (let i = 0; i < 100; i++) {
    const { status } = await on.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/probe`, undefined, token);
    if (status === 404) return;
    await sleep(50);
  }
  throw new Error("RBAC did not take effect within 5 s");
};

/** Points the in-cluster environment variables at the test cluster. */
export const emulateInCluster = (): void => {
  const url = new URL(kube.server);
  process.env["KUBERNETES_SERVICE_HOST"] = url.hostname;
  process.env["KUBERNETES_SERVICE_PORT"] = url.port;
};

/** The cluster as a pod of this sandbox sees it. */
export const podCluster = (box: Sandbox): Promise<Cluster> => {
  emulateInCluster();
  return inCluster({ serviceAccountDir: box.serviceAccountDir });
};

/** The cluster as the admin sees it (for setting things up and looking at Leases). */
export const adminCluster = (): Cluster =>
  cluster({ server: kube.server, fetch: runtime.tlsFetch({ ca: kube.caPem }), token: kube.adminToken });

export { eventually, sleep } from "../support/wait.ts";

/** Short timings for real-time tests. */
export const FAST = { leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500 } as const;

export interface Contender {
  readonly id: string;
  readonly elector: Elector;
  readonly controller: AbortController;
  /** `[performance.now(), what]`: started, signal aborted, stopped, leader X. */
  readonly events: (readonly [number, string])[];
  readonly errors: LockError[];
  readonly terms: Term[];
  readonly done: Promise<unknown>;
}

export const contend = (id: string, lock: Lock, options: Partial<ElectorOptions> = {}): Contender => {
  const controller = new AbortController();
  const events: (readonly [number, string])[] = [];
  const errors: LockError[] = [];
  const terms: Term[] = [];
  const elector = createElector({
    lock,
    identity: id,
    ...FAST,
    onStartedLeading: (signal, term) => {
      terms.push(term);
      events.push([performance.now(), "started"]);
      signal.addEventListener("abort", () => events.push([performance.now(), "signal aborted"]));
    },
    onStoppedLeading: () => void events.push([performance.now(), "stopped"]),
    onNewLeader: (leader) => void events.push([performance.now(), `leader ${leader}`]),
    onError: (error) => void errors.push(error),
    ...options,
  });
  const done = elector.run(controller.signal).catch((error: unknown) => error);
  return { id, elector, controller, events, errors, terms, done };
};

export const when = (contender: Contender, what: string): number | undefined =>
  contender.events.find(([, w]) => w === what)?.[0];

export const readLease = async (namespace: string, name: string): Promise<any> =>
  (await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`)).json;

/**
 * A cluster whose network can be cut, as for a process that froze or lost its network: after
 * `cut()` requests never reach the server and hang until aborted. Also counts requests.
 */
export const cuttable = (base: Cluster): { cluster: Cluster; cut: () => void; requests: () => number } => {
  let cut = false;
  let requests = 0;
  const fetch: Cluster["fetch"] = (url, init) => {
    if (!cut) {
      requests++;
      return base.fetch(url, init);
    }
    return new Promise((_, reject) => init.signal?.addEventListener("abort", () => reject(init.signal?.reason), { once: true }));
  };
  return { cluster: { ...base, fetch }, cut: () => void (cut = true), requests: () => requests };
};
