/**
 * A cluster with Coordinated Leader Election on (beta, off by default): the shared test cluster
 * when it already serves LeaseCandidates, else one of our own started with the gate (3 s on this
 * machine).
 *
 * @module
 */
import { startCluster } from "./cluster.ts";
import { connectCluster } from "./connect.ts";
import type { TestCluster } from "./client.ts";

/** kube-apiserver flags that turn the coordinator and the LeaseCandidate API on. */
export const COORDINATED_APISERVER_ARGS: readonly string[] = [
  "--feature-gates=CoordinatedLeaderElection=true",
  "--runtime-config=coordination.k8s.io/v1beta1=true",
];

/** Whether the cluster serves coordination.k8s.io/v1beta1 LeaseCandidates. */
export const servesLeaseCandidates = async (cluster: TestCluster): Promise<boolean> => {
  const { status, json } = await cluster.request("GET", "/apis/coordination.k8s.io/v1beta1");
  return status === 200 && (json?.resources ?? []).some((r: { name?: string }) => r.name === "leasecandidates");
};

let shared: Promise<TestCluster> | undefined;

/** The gated cluster for this process (started once). Its `stop()` stops it if it is our own: call it in `after`. */
export const coordinatedCluster = (): Promise<TestCluster> =>
  (shared ??= (async () => {
    if (process.env["TENURE_CLUSTER"]) {
      const connected = await connectCluster();
      if (await servesLeaseCandidates(connected)) return connected;
    }
    return startCluster({ apiserverArgs: [...COORDINATED_APISERVER_ARGS] });
  })());
