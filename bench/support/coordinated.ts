/**
 * The coordinated row of bench/client-go.ts: on a kube-apiserver with CoordinatedLeaderElection on
 * (a cluster of its own), one implementation's candidates at a time (the interop peers with
 * --coordinated), each round a candidate with an older emulation version joins; the time from the
 * coordinator setting preferredHolder (seen by a watch) to the joiner's "started" is measured.
 */
import { COORDINATED_APISERVER_ARGS } from "../../test/cluster/coordinated.ts";
import { startCluster } from "../../test/cluster/cluster.ts";
import { Fleet, monoMs, type Peer } from "../../test/interop/fleet.ts";
import { cluster, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { runtime } from "../../adapters/runtime/node.ts";
import type { Timings } from "./config.ts";
import type { Implementation } from "./peers.ts";
import { sandbox, type TestCluster } from "./kube.ts";

const CANDIDATE_RULES = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leasecandidates"], verbs: ["get", "list", "watch", "create", "update", "delete"] },
];

/** Lets the sandbox's ServiceAccount keep LeaseCandidates too. */
const allowCandidates = async (kube: TestCluster, namespace: string): Promise<void> => {
  for (const [path, body] of [
    ["roles", { metadata: { name: "candidates" }, rules: CANDIDATE_RULES }],
    ["rolebindings", {
      metadata: { name: "candidates" },
      subjects: [{ kind: "ServiceAccount", name: "elector", namespace }],
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "candidates" },
    }],
  ] as const) {
    const { status, text } = await kube.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/${path}`, body);
    if (status >= 300) throw new Error(`create ${path}: HTTP ${status}: ${text}`);
  }
};

/** `rounds` handovers for each implementation: preferredHolder set → the new leader's "started", in ms. */
export const coordinatedHandovers = async (
  goPeer: string | undefined,
  implementations: readonly Implementation[],
  timings: Timings,
  rounds: number,
): Promise<Record<Implementation, number[]>> => {
  const kube = await startCluster({ apiserverArgs: [...COORDINATED_APISERVER_ARGS] });
  const result: Record<Implementation, number[]> = { tenure: [], "client-go": [] };
  try {
    for (const impl of implementations) {
      const box = await sandbox(kube, `bench-coord-${impl}`);
      await allowCandidates(kube, box.namespace);
      const lease = "coordinated";
      const fleet = new Fleet({ kube, namespace: box.namespace, tokenFile: box.tokenFile, name: lease, timings, goPeers: goPeer === undefined ? {} : { "v0.37": goPeer } });
      const admin = leaseLock(cluster({ server: kube.server, fetch: runtime.tlsFetch({ ca: kube.caPem }), token: kube.adminToken }), { namespace: box.namespace, name: lease });
      const preferred = new Map<string, number>();
      const stop = new AbortController();
      const watching = (async () => {
        while (!stop.signal.aborted) {
          try {
            for await (const event of await admin.watch?.(undefined, stop.signal) ?? []) {
              const who = event._tag === "changed" ? event.snapshot.record.preferredHolder : "";
              if (who !== "" && !preferred.has(who)) preferred.set(who, monoMs());
            }
          } catch {
            // reopened below unless stopping
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      const spawn = (identity: string, minor: number): Peer =>
        fleet.spawn({
          impl: impl === "tenure" ? "tenure" : "v0.37",
          identity,
          rejoin: true,
          flags: ["--coordinated", "--binary-version=1.99.0", `--emulation-version=1.${minor}.0`],
        });
      try {
        await fleet.judge(async () => {
          let leader = spawn(`${impl}-0`, 90);
          await fleet.until(() => leader.leading, 60_000, `${impl}: the first leader`);
          for (let round = 1; round <= rounds; round++) {
            const joiner = spawn(`${impl}-${round}`, 90 - round);
            await fleet.until(() => preferred.has(joiner.identity), 60_000, `${impl} round ${round}: preferredHolder`);
            const at = preferred.get(joiner.identity) as number;
            await fleet.until(() => (joiner.last("started") ?? -Infinity) >= at, 60_000, `${impl} round ${round}: the new leader`);
            result[impl].push((joiner.last("started") as number) - at);
            console.error(`[bench] coordinated ${impl} round ${round}: ${((joiner.last("started") as number) - at).toFixed(0)} ms (${leader.identity} → ${joiner.identity})`);
            leader = joiner;
          }
        });
      } finally {
        stop.abort();
        await watching;
      }
    }
  } finally {
    await kube.stop();
  }
  return result;
};
