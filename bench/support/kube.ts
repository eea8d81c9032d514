/**
 * The real test cluster for the benchmarks (test/cluster's harness), and what every run needs on it:
 * a sandbox (test/cluster/sandbox.ts: a namespace with a ServiceAccount bound to the README's Role,
 * its token) and lease reads.
 */
import { startCluster } from "../../test/cluster/cluster.ts";
import type { TestCluster } from "../../test/cluster/client.ts";
import { createSandbox, type Sandbox } from "../../test/cluster/sandbox.ts";

export type { Sandbox, TestCluster };

/** Starts etcd + kube-apiserver (built once and cached; the first build takes minutes and says so). */
export const startBenchCluster = async (): Promise<TestCluster> => {
  const started = performance.now();
  const kube = await startCluster();
  console.error(`[bench] cluster ready in ${((performance.now() - started) / 1000).toFixed(1)} s at ${kube.server}`);
  return kube;
};

/** A fresh namespace with the ServiceAccount `elector` bound to the README's Role (or `rules`), and a 2-hour token. */
export const sandbox = (kube: TestCluster, prefix: string, rules?: readonly object[]): Promise<Sandbox> =>
  createSandbox(kube, prefix, { tokenSeconds: 7200, ...(rules === undefined ? {} : { rules }) });

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
