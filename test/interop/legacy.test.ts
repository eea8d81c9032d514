/**
 * The legacy annotation locks against client-go v0.23, the last client-go with them: tenure's
 * endpointsLock and configMapLock hand over to and take over from client-go's `endpoints` and
 * `configmaps` locks, gracefully and by crash; and a rolling migration endpoints →
 * endpointsleases → leases with old and new, tenure and client-go processes side by side. The
 * checker proves there were never two leaders; the Endpoints deprecation warning reaches each
 * tenure process's `warn` exactly once.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ELECTION_RULES, kube, sandbox } from "../e2e/support.ts";
import { earliestTakeover, handoverBound, recoveryBound, type Timings } from "./checker.ts";
import {
  Fleet,
  followerStyle,
  goPeers,
  type Impl,
  type LockType,
  type Measure,
  type Peer,
  readRecord,
  SECOND_TIME,
  type SeenRecord,
  Slot,
  table,
  tenureCommandFromEnv,
} from "./fleet.ts";

const TIMINGS: Timings = { leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500 };
const NAME = "legacy";

/** Leases as the README documents, plus the same verbs on the two legacy kinds. */
const LEGACY_RULES: readonly object[] = [
  ...ELECTION_RULES,
  { apiGroups: [""], resources: ["endpoints", "configmaps"], verbs: ["get", "create", "update", "watch"] },
];

const DEPRECATED = /v1 Endpoints is deprecated/;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const measures: Measure[] = [];

const newFleet = async (prefix: string): Promise<{ fleet: Fleet; namespace: string }> => {
  const [box, peers] = await Promise.all([sandbox(prefix, LEGACY_RULES), goPeers()]);
  const fleet = new Fleet({ kube, namespace: box.namespace, tokenFile: box.tokenFile, name: NAME, timings: TIMINGS, goPeers: peers, ...tenureCommandFromEnv() });
  return { fleet, namespace: box.namespace };
};

/**
 * Stops `old` with SIGTERM (it releases) and returns, once it printed "stopped", when its
 * leadership ended and whether the record it held was blanked.
 *
 * client-go before v0.34 releases by writing its cached object without a GET: a SIGTERM that lands
 * while a renew is in flight cancels the renew after the server committed it, and the release then
 * fails with a 409 (client-go#1289, kubernetes#131867, fixed in v0.34), so followers must wait for
 * expiry. That is client-go's bug, seen now and then with the v0.23 peer: such a round is held to
 * the crash bound and says so. tenure (GET, then PUT, retried on conflict) must always release.
 */
const gracefulStop = async (fleet: Fleet, old: Peer, namespace: string, what: string): Promise<{ at: number; released: boolean }> => {
  const leading = old.leading;
  const sent = fleet.signal(old, "SIGTERM");
  // A peer that rejoined after a loss printed "stopped" before: wait for this stop's.
  await fleet.until(() => (old.last("stopped") ?? -Infinity) >= sent, 5_000, `${what}: ${old.identity} to release and stop`);
  // Where it stopped leading: tenure's work stopped before its release, client-go's "stopped" after.
  const at = leading ? (old.ended ?? old.last("stopped")) as number : sent;
  const record = await readRecord(kube, old.lock === "configmaps" ? "configmaps" : old.lock === "leases" ? "leases" : "endpoints", namespace, NAME);
  const released = record?.holderIdentity !== old.identity;
  assert.ok(released || old.impl === "v0.23", `${what}: ${old.identity} (${old.impl}) stopped without releasing the lock`);
  if (!released) console.log(`${what}: ${old.identity} (${old.impl}) did not release the lock (client-go#1289 race); held to the crash bound`);
  return { at, released };
};

/** tenure's stderr lines carrying the Endpoints deprecation warning. */
const deprecationWarnings = (peer: Peer): number => peer.stderr.filter((line) => DEPRECATED.test(line)).length;

describe("legacy annotation locks: tenure against client-go v0.23", () => {
  for (const lock of ["endpoints", "configmaps"] as const) {
    it(`${lock}: handovers both ways, graceful and crash, records read by the other side`, { timeout: 90_000 }, async () => {
      const { fleet, namespace } = await newFleet(`interop-${lock}`);
      const record = async (): Promise<SeenRecord> => {
        const seen = await readRecord(kube, lock, namespace, NAME);
        assert.ok(seen !== undefined, `the ${lock} object carries the leader annotation`);
        return seen;
      };
      await fleet.judge(async () => {
        const tenure = new Slot(fleet, "tenure", "tenure", lock);
        const go = new Slot(fleet, "go", "v0.23", lock);
        let leader = tenure.start();
        await fleet.until(() => leader.leading, 15_000, `${leader.identity} to lead`);
        let acquired = await record();
        assert.equal(acquired.holderIdentity, leader.identity);
        assert.equal(acquired.transitions, 0);

        const rounds = [
          { next: go, mode: "graceful" },
          { next: tenure, mode: "crash" },
          { next: go, mode: "crash" },
          { next: tenure, mode: "graceful" },
        ] as const;
        for (const [i, { next, mode }] of rounds.entries()) {
          const old = leader;
          const what = `${lock} round ${i + 1} (${old.kind}→${next.impl === "tenure" ? "tenure" : "client-go"}, ${mode})`;
          const follower = next.start();
          await fleet.sees(follower, old.identity);
          const before = await record();
          assert.equal(before.holderIdentity, old.identity, `${what}: holder before`);
          assert.equal(before.acquireTime, acquired.acquireTime, `${what}: renewals keep acquireTime`);
          assert.equal(before.transitions, acquired.transitions, `${what}: renewals keep leaderTransitions`);
          assert.match(before.renewTime ?? "", SECOND_TIME, `${what}: whole-second times in the annotation`);
          assert.match(before.acquireTime ?? "", SECOND_TIME);

          const style = followerStyle(next.impl, lock);
          let from0: number;
          if (mode === "crash") {
            from0 = fleet.signal(old, "SIGKILL");
            // Annotation records hold whole seconds: a follower may have seen the last change up to 1 s early.
            const notBefore = earliestTakeover(TIMINGS, "second");
            fleet.deadlines.push({ after: from0, within: recoveryBound(TIMINGS, style), notBefore, why: `${what}: ${old.identity} crashed`, from: old.identity });
          } else {
            const stop = await gracefulStop(fleet, old, namespace, what);
            from0 = stop.at;
            fleet.deadlines.push(stop.released
              ? { after: from0, within: handoverBound(TIMINGS, style), why: `${what}: ${old.identity} released`, from: old.identity }
              : { after: from0, within: recoveryBound(TIMINGS, style), why: `${what}: ${old.identity} stopped without releasing`, from: old.identity });
          }
          await fleet.until(() => (follower.last("started") ?? -Infinity) >= from0, recoveryBound(TIMINGS, "polling") + 5_000, `${what}: ${follower.identity} to lead`);
          measures.push({
            row: `${lock}: ${old.kind} → ${follower.kind}, ${mode === "crash" ? "crash" : "graceful"}`,
            ms: (follower.last("started") as number) - from0,
          });
          await fleet.within(old.closed, 10_000, `${what}: ${old.identity} to exit`);
          leader = follower;
          const after = await record();
          acquired = after;
          assert.equal(after.holderIdentity, leader.identity, `${what}: holder after`);
          assert.equal(after.transitions, before.transitions + 1, `${what}: ${leader.impl} counted the take-over from ${old.impl}`);
          assert.equal(after.leaseDurationSeconds, 3);
        }
      });
      for (const peer of fleet.peers.filter((p) => p.kind === "tenure")) {
        assert.equal(deprecationWarnings(peer), lock === "endpoints" ? 1 : 0, `${peer.identity}: Endpoints deprecation warnings on stderr:\n${peer.stderr.join("\n")}`);
      }
    });
  }

  it("a MultiLock follower waits the live Lease's duration, not the 1 s of a released Endpoints record beside it", { timeout: 60_000 }, async () => {
    // After an endpointsleases leader releases (both objects: holder "", leaseDurationSeconds 1)
    // and a leases-only leader takes the Lease, the Endpoints record stays released forever. A
    // MultiLock reads the holders as unknown; it must judge expiry by the Lease's duration, or a
    // leader renewing less often than every second is taken over while alive.
    const slow: Timings = { leaseDuration: 4_000, renewDeadline: 3_000, retryPeriod: 1_500 };
    const [box, peers] = await Promise.all([sandbox("interop-multi-duration", LEGACY_RULES), goPeers()]);
    const fleet = new Fleet({ kube, namespace: box.namespace, tokenFile: box.tokenFile, name: NAME, timings: slow, goPeers: peers, ...tenureCommandFromEnv() });
    await fleet.judge(async () => {
      // tenure releases reliably (GET, then PUT, retried on conflict); client-go v0.23 may not (see gracefulStop).
      const old = fleet.spawn({ impl: "tenure", lock: "endpointsleases", identity: "el-tenure-old" });
      await fleet.until(() => old.leading, 15_000, "the endpointsleases leader");
      await fleet.stop(old, "SIGTERM");
      const released = await readRecord(kube, "endpoints", box.namespace, NAME);
      assert.equal(released?.holderIdentity, "");
      assert.equal(released?.leaseDurationSeconds, 1);
      const leader = fleet.spawn({ impl: "tenure", lock: "leases", identity: "l-tenure" });
      await fleet.until(() => leader.leading, 10_000, "the leases leader");
      const followers = [
        fleet.spawn({ impl: "tenure", lock: "endpointsleases", identity: "el-tenure" }),
        fleet.spawn({ impl: "v0.23", lock: "endpointsleases", identity: "el-go" }),
      ];
      await fleet.until(() => followers.every((f) => f.leaderSeen !== undefined), 10_000, "the followers to look");
      await sleep(4 * slow.retryPeriod);
      assert.ok(leader.leading, `${leader.identity} still leads`);
      for (const follower of followers) assert.equal(follower.last("started"), undefined, `${follower.identity} never took over from a live leader`);
    });
  });

  it("rolling migration endpoints → endpointsleases → leases, tenure and client-go alternating: never two leaders", { timeout: 120_000 }, async () => {
    const { fleet, namespace } = await newFleet("interop-migrate");
    type Phase = 0 | 1 | 2;
    const PHASE_LOCK: Readonly<Record<Phase, LockType>> = { 0: "endpoints", 1: "endpointsleases", 2: "leases" };
    const phaseOf = (peer: Peer): Phase => (peer.lock === "endpoints" ? 0 : peer.lock === "endpointsleases" ? 1 : 2);
    // client-go's MultiLock (v0.23 here) writes the Lease against a version it re-reads just before
    // writing, so when the lease falls vacant it can overwrite a Lease that a Lease-only peer took
    // a moment earlier: two leaders, whatever that peer does. tenure's MultiLock writes against
    // the version it read and loses that race instead. So the checker measures these overlaps
    // rather than failing them, where the victim behaved as its protocol promises: tenure's steps
    // down at the first sight of the intruder (one watch event), client-go's at its renewDeadline.
    // The victims campaign again after the loss (--rejoin), as a restarted pod would.
    const sameVacancy = 1_000;
    const races = {
      // A tenure victim learns it from the watch event of the intruder's write; had it learned it
      // by its next renew instead (as it once did when both events came before its own answer),
      // that renew comes retryPeriod after its write at the soonest.
      tenure: {
        name: "client-go MultiLock overwrote a tenure Lease-only leader",
        victims: [] as string[],
        intruders: [] as string[],
        vacancy: sameVacancy,
        overlap: TIMINGS.retryPeriod,
        named: true,
      },
      go: {
        name: "client-go MultiLock overwrote a client-go Lease-only leader",
        victims: [] as string[],
        intruders: [] as string[],
        vacancy: sameVacancy,
        overlap: TIMINGS.renewDeadline + TIMINGS.retryPeriod + 500,
        named: false,
      },
    };
    fleet.races.push(races.tenure, races.go);
    let serial = 0;
    const start = (impl: Impl, phase: Phase): Peer => {
      const identity = `${["e", "el", "l"][phase]}-${impl === "tenure" ? "tenure" : "go"}-${++serial}`;
      if (phase === 2) races[impl === "tenure" ? "tenure" : "go"].victims.push(identity);
      if (phase === 1 && impl !== "tenure") for (const race of Object.values(races)) race.intruders.push(identity);
      return fleet.spawn({ impl, lock: PHASE_LOCK[phase], identity, rejoin: phase === 2 });
    };
    // Each step may first crash the leader, whatever its phase, and restart it under a new
    // identity (a pod restarting); then it starts a process of the next phase (a rolling update
    // with surge) and gracefully stops one of the oldest phase, the leader if it is one of them.
    // Tenure and client-go alternate.
    const steps: readonly { readonly impl: Impl; readonly phase: Phase; readonly crashLeader: boolean }[] = [
      { impl: "v0.23", phase: 1, crashLeader: false },
      { impl: "tenure", phase: 1, crashLeader: true },
      { impl: "v0.23", phase: 1, crashLeader: false },
      { impl: "tenure", phase: 2, crashLeader: false },
      { impl: "v0.37", phase: 2, crashLeader: true },
      { impl: "tenure", phase: 2, crashLeader: true },
    ];
    const kindLock = (peer: Peer): string => `${peer.kind} ${peer.lock}`;
    /**
     * After the leader `old` ended at `from0`: a new leader within the bound. Mixed locks may show
     * the holder as unknown after a release, so even a graceful handover may wait for expiry, and
     * MultiLocks poll: the polling bound applies throughout.
     */
    const successor = async (old: Peer, from0: number, what: string, mode: "graceful" | "crash"): Promise<void> => {
      const notBefore = mode === "crash" ? { notBefore: earliestTakeover(TIMINGS, "second") } : {};
      fleet.deadlines.push({ after: from0, within: recoveryBound(TIMINGS, "polling"), why: what, from: old.identity, ...notBefore });
      const next = (): Peer | undefined => fleet.peers.find((p) => p !== old && (p.last("started") ?? -Infinity) >= from0);
      await fleet.until(() => next() !== undefined, recoveryBound(TIMINGS, "polling") + 5_000, `${what}: a new leader`);
      const leader = next() as Peer;
      measures.push({ row: `migration: ${kindLock(old)} → ${kindLock(leader)}, ${mode}`, ms: (leader.last("started") as number) - from0 });
    };
    /** After a handover has settled (a known race may leave two leaders for a moment): the one leader. */
    const settled = (what: string): Promise<Peer> => fleet.leader(TIMINGS.renewDeadline + 5_000, `${what}: one leader`);
    /** The leader's locks name it, whoever wrote them. */
    const named = async (leader: Peer, what: string): Promise<void> => {
      if (leader.lock !== "leases") {
        assert.equal((await readRecord(kube, "endpoints", namespace, NAME))?.holderIdentity, leader.identity, `${what}: Endpoints names ${leader.identity}`);
      }
      if (leader.lock !== "endpoints") {
        assert.equal((await readRecord(kube, "leases", namespace, NAME))?.holderIdentity, leader.identity, `${what}: the Lease names ${leader.identity}`);
      }
    };

    await fleet.judge(async () => {
      const first = start("tenure", 0);
      await fleet.until(() => first.leading, 15_000, `${first.identity} to lead`);
      for (const peer of [start("v0.23", 0), start("tenure", 0)]) await fleet.sees(peer, first.identity);

      for (const [i, step] of steps.entries()) {
        if (step.crashLeader) {
          const old = await fleet.leader(5_000);
          const what = `step ${i + 1}: crash of the leader ${old.identity}`;
          const from0 = fleet.signal(old, "SIGKILL");
          const restarted = start(old.impl, phaseOf(old));
          await fleet.within(old.closed, 10_000, `${what}: ${old.identity} to exit`);
          await successor(old, from0, what, "crash");
          await named(await settled(what), what);
          await fleet.until(() => restarted.leaderSeen !== undefined, 10_000, `${what}: ${restarted.identity} to look at the lock`);
        }

        const running = fleet.running();
        const oldest = Math.min(...running.map(phaseOf));
        const newcomer = start(step.impl, step.phase);
        const phases = new Set([...running.map(phaseOf), step.phase]);
        assert.ok(Math.max(...phases) - Math.min(...phases) <= 1, `step ${i + 1}: only adjacent phases side by side (${[...phases].join(", ")})`);
        // Its first look at the locks (a MultiLock may report leaderelection.k8s.io/unknown).
        await fleet.until(() => newcomer.leaderSeen !== undefined, 10_000, `step ${i + 1}: ${newcomer.identity} to look at the lock`);

        const candidates = running.filter((p) => phaseOf(p) === oldest);
        const victim = candidates.find((p) => p.leading) ?? (candidates[0] as Peer);
        const wasLeader = victim.leading;
        const what = `step ${i + 1}: ${newcomer.identity} in, ${victim.identity}${wasLeader ? " (the leader)" : ""} out`;
        const stop = await gracefulStop(fleet, victim, namespace, what);
        await fleet.within(victim.closed, 10_000, `${what}: ${victim.identity} to exit`);
        if (wasLeader) await successor(victim, stop.at, what, "graceful");
        // Some time with the mixed fleet as it is now: longer than renewDeadline, so that a leader
        // whose renews fail (as tenure's MultiLock's once did, writing an annotation's whole-second
        // acquireTime into the Lease) is caught losing its lease.
        await sleep(TIMINGS.renewDeadline + TIMINGS.retryPeriod);
        await named(await settled(what), what);
      }
      assert.deepEqual(new Set(fleet.running().map(phaseOf)), new Set([2]), "all on leases at the end");
      assert.ok(measures.filter((m) => m.row.startsWith("migration:") && m.row.endsWith("crash")).length === 3, "three leaders crashed");
    });
    for (const peer of fleet.peers.filter((p) => p.kind === "tenure")) {
      assert.equal(deprecationWarnings(peer), peer.lock === "leases" ? 0 : 1, `${peer.identity}: Endpoints deprecation warnings on stderr:\n${peer.stderr.join("\n")}`);
    }
    console.log(table("legacy locks, 3s/2s/500ms (ms from SIGKILL, or end of term, to started)", measures));
    const seen = fleet.verdict().races;
    console.log(`client-go MultiLock races: ${seen.length}${seen.map((r) => `\n  ${r.name}: ${r.victim} and ${r.intruder} both acted for ${r.overlap.toFixed(1)} ms`).join("")}`);
  });
});
