/**
 * What end-to-end tests share: the running test cluster, a namespace with a ServiceAccount whose
 * Role allows exactly what the README documents, in-cluster files for it, and electors that
 * record what they saw.
 */
import { connectCluster } from "../cluster/connect.ts";
import type { TestCluster } from "../cluster/client.ts";
import { createSandbox, ELECTION_RULES, type Sandbox } from "../cluster/sandbox.ts";
import { type Cluster, cluster, inCluster } from "../../adapters/kubernetes/entry-node.ts";
import { http1Runtime, runtime } from "../../adapters/runtime/node.ts";
import { createElector, type Elector, type ElectorOptions, type Lock, type LockError, type Term } from "../../src/index.ts";

export const kube: TestCluster = await connectCluster();

export { CLIENT_GO_RULES, ELECTION_RULES, type Sandbox } from "../cluster/sandbox.ts";

/** A fresh namespace and ServiceAccount `elector`, bound to `rules` (`null`: no permissions at all), on `on` (default: the shared test cluster). */
export const sandbox = (prefix: string, rules: readonly object[] | null = ELECTION_RULES, on: TestCluster = kube): Promise<Sandbox> =>
  createSandbox(on, prefix, { rules });

/** Points the in-cluster environment variables at the test cluster. */
export const emulateInCluster = (): void => {
  const url = new URL(kube.server);
  process.env["KUBERNETES_SERVICE_HOST"] = url.hostname;
  process.env["KUBERNETES_SERVICE_PORT"] = url.port;
};

/**
 * `TENURE_E2E_HTTP1=1`: the pods' and the admin's clusters talk HTTP/1.1 through undici
 * (`http2: false`) instead of Node's default HTTP/2. Clusters a test builds itself stay on the default.
 */
export const HTTP1: boolean = process.env["TENURE_E2E_HTTP1"] === "1";

/** The cluster as a pod of this sandbox sees it. */
export const podCluster = (box: Sandbox): Promise<Cluster> => {
  emulateInCluster();
  return inCluster({ serviceAccountDir: box.serviceAccountDir, ...(HTTP1 ? { http2: false } : {}) });
};

/** The cluster as the admin sees it (for setting things up and looking at Leases). */
export const adminCluster = (): Cluster =>
  cluster({ server: kube.server, fetch: (HTTP1 ? http1Runtime : runtime).tlsFetch({ ca: kube.caPem }), token: kube.adminToken });

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

/** The leadership Events (reason LeaderElection) of a namespace, as the admin reads them. */
export const leaderElectionEvents = async (namespace: string): Promise<any[]> =>
  ((await kube.request("GET", `/api/v1/namespaces/${namespace}/events`)).json.items ?? []).filter((e: any) => e.reason === "LeaderElection");

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
