/**
 * Coordinated leader election in a mixed fleet: tenure and client-go v0.37 (`Coordinated: true`
 * plus `NewCandidate`, as kube-controller-manager runs them) as candidates for one Lease on a
 * kube-apiserver with CoordinatedLeaderElection on. Candidates join with ever older emulation
 * versions, so the coordinator moves the lease on each time by setting preferredHolder:
 * tenure → client-go → client-go → tenure → tenure. The checker proves no two leaders at any time,
 * and every handover is timed from the moment the coordinator set preferredHolder (seen by the
 * harness's watch) to the new leader's start.
 *
 * client-go's leader stops renewing and goes on leading until its renewDeadline; then the lease
 * expires, the coordinator notices on its 5 s re-check and assigns it, and the candidate notices on
 * its next retry tick. tenure's leader stops its work and releases at once; the coordinator
 * reassigns a holderless lease on the spot and a tenure candidate sees it through its watch.
 */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { coordinatedCluster } from "../cluster/coordinated.ts";
import { cluster, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { runtime } from "../../adapters/runtime/node.ts";
import { ELECTION_RULES, sandbox } from "../e2e/support.ts";
import type { Timings } from "./checker.ts";
import { Fleet, goPeers, type Impl, type Measure, monoMs, type Peer, table, tenureCommandFromEnv } from "./fleet.ts";

const gated = await coordinatedCluster();
after(() => gated.stop());

const TIMINGS: Timings = { leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500 };
const LEASE = "coordinated";
/** client-go's informer lists and watches its LeaseCandidate; tenure gets, watches, creates, renews and deletes its own. */
const RULES: readonly object[] = [
  ...ELECTION_RULES,
  { apiGroups: ["coordination.k8s.io"], resources: ["leasecandidates"], verbs: ["get", "list", "watch", "create", "update", "delete"] },
];
/** The coordinator's re-check interval (kube-apiserver's defaultRequeueInterval). */
const RECHECK = 5_000;

/**
 * Joiners in order, each older than the last, so the coordinator prefers each in turn: every
 * direction twice (tenure → client-go → client-go → tenure → tenure, and again).
 */
const JOINERS: readonly (readonly [string, Impl, string])[] = [
  ["go-a", "v0.37", "1.8.0"],
  ["go-b", "v0.37", "1.7.0"],
  ["tenure-b", "tenure", "1.6.0"],
  ["tenure-c", "tenure", "1.5.0"],
  ["go-c", "v0.37", "1.4.0"],
  ["go-d", "v0.37", "1.3.0"],
  ["tenure-d", "tenure", "1.2.0"],
  ["tenure-e", "tenure", "1.1.0"],
];

/**
 * How long a handover may take from preferredHolder. client-go's old leader leads on until its
 * renewDeadline (from its last renew, up to a retryPeriod before), its record expires a
 * leaseDuration after that renew, the coordinator re-checks every 5 s, and a client-go candidate
 * retries after up to 2.2 x retryPeriod; 2 s for scheduling on a loaded machine.
 */
const bound = (from: Impl, to: Impl): number =>
  (from === "tenure" ? 1_000 : TIMINGS.leaseDuration + RECHECK) + (to === "tenure" ? 0 : 2.2 * TIMINGS.retryPeriod) + 2_000;

it("tenure and client-go v0.37 coordinated candidates: the coordinator's choice leads, every handover in both directions (twice) without overlap", { timeout: 240_000 }, async () => {
  const [box, peers] = await Promise.all([sandbox("interop-coord", RULES, gated), goPeers(["v0.37"])]);
  // TENURE_INTEROP_TENURE_COMMAND runs the tenure peers on another runtime (see fleet.ts).
  const fleet = new Fleet({ kube: gated, namespace: box.namespace, tokenFile: box.tokenFile, name: LEASE, timings: TIMINGS, goPeers: peers, ...tenureCommandFromEnv() });
  const spawn = (identity: string, impl: Impl, emulationVersion: string): Peer =>
    fleet.spawn({ impl, identity, rejoin: true, flags: ["--coordinated", "--binary-version=1.9.9", `--emulation-version=${emulationVersion}`] });

  // The harness watches the Lease to time the coordinator's preferredHolder.
  const admin = leaseLock(cluster({ server: gated.server, fetch: runtime.tlsFetch({ ca: gated.caPem }), token: gated.adminToken }), { namespace: box.namespace, name: LEASE });
  const preferred = new Map<string, number>();
  const stopWatch = new AbortController();
  const watching = (async () => {
    for (;;) {
      try {
        for await (const event of await admin.watch?.(undefined, stopWatch.signal) ?? []) {
          const who = event._tag === "changed" ? event.snapshot.record.preferredHolder : "";
          if (who !== "" && !preferred.has(who)) preferred.set(who, monoMs());
        }
      } catch {
        if (stopWatch.signal.aborted) return;
      }
      if (stopWatch.signal.aborted) return;
    }
  })();

  const measures: Measure[] = [];
  const verdict = await fleet.judge(async () => {
    let leader = spawn("tenure-a", "tenure", "1.9.0");
    await fleet.until(() => leader.leading, 30_000, "the first candidate to be elected");
    for (const [identity, impl, version] of JOINERS) {
      const joiner = spawn(identity, impl, version);
      await fleet.until(() => preferred.has(identity), 30_000, `the coordinator to prefer ${identity}`);
      const at = preferred.get(identity) as number;
      const what = `${leader.identity} (${leader.kind}) → ${identity} (${joiner.kind})`;
      fleet.deadlines.push({ after: at, within: bound(leader.impl, impl), why: `${what}: preferredHolder set`, from: leader.identity });
      await fleet.until(() => (joiner.last("started") ?? -Infinity) >= at, bound(leader.impl, impl) + 5_000, `${what}: the new leader`);
      measures.push({ row: `${leader.kind} → ${joiner.kind}`, ms: (joiner.last("started") as number) - at });
      leader = joiner;
    }
    // The last joiner stays leader: nobody better is left.
    await new Promise((resolve) => setTimeout(resolve, TIMINGS.leaseDuration));
    assert.equal(fleet.leaders().map((p) => p.identity).join(), "tenure-e");
  });
  stopWatch.abort();
  await watching;

  console.log(table("coordinated, preferredHolder set → new leader started (3s/2s/500ms)", measures, ["tenure → client-go", "client-go → client-go", "client-go → tenure", "tenure → tenure"]));
  assert.equal(verdict.recoveries.length, JOINERS.length);
  // tenure yields at once: its handovers take neither the lease's expiry nor the coordinator's re-check.
  for (const m of measures.filter((m) => m.row.startsWith("tenure →"))) assert.ok(m.ms < TIMINGS.leaseDuration, `${m.row}: ${m.ms.toFixed(0)} ms`);
});
