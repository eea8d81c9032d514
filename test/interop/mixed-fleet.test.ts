/**
 * Issue 4: a tenure elector rolled into a deployment whose other replicas run client-go's
 * leaderelection (v0.37, LeaseLock), in either direction, with no moment of two leaders.
 *
 * Two tenure and two client-go candidates share one Lease. 24 rounds end the leader's run, half
 * gracefully (SIGTERM, releasing the Lease) and half by crashing it (SIGKILL), and force who comes
 * next: before each round the only other candidates running are of the wanted next kind (tenure's
 * watching followers would otherwise win nearly every race). So leadership passes
 * tenure→tenure, tenure→client-go, client-go→client-go and client-go→tenure six times each, three
 * graceful and three crash. Every 8 rounds hold each direction once graceful and once by crash;
 * the runtime matrix runs 8 (TENURE_INTEROP_ROUNDS) with its own runtime's tenure peers
 * (TENURE_INTEROP_TENURE_COMMAND, and TENURE_INTEROP_RUNTIME, which their ready lines must name).
 *
 * Checked: the checker's verdict over all processes' lines (no overlap; a leader again within the
 * bound after every crash and release); each side reads the other's records (followers report the
 * other side's holder; a take-over increments leaseTransitions and sets a new acquireTime; renewals
 * keep acquireTime; MicroTimes have six digits); and a released Lease is taken at once (tenure
 * followers < 1 s, client-go followers < 2.2 x retryPeriod + 300 ms).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { ELECTION_RULES, kube, sandbox } from "../e2e/support.ts";
import { earliestTakeover, handoverBound, recoveryBound, type Timings } from "./checker.ts";
import { Fleet, goPeers, type Kind, type Measure, MICRO_TIME, type Peer, readRecord, type SeenRecord, Slot, table, tenureCommandFromEnv } from "./fleet.ts";

const TIMINGS: Timings = { leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500 };
/** A multiple of 8: each of the four directions once graceful and once by crash per 8 rounds. */
const ROUNDS = Number(process.env["TENURE_INTEROP_ROUNDS"] || 24);
if (!Number.isInteger(ROUNDS) || ROUNDS <= 0 || ROUNDS % 8 !== 0) throw new Error(`TENURE_INTEROP_ROUNDS=${process.env["TENURE_INTEROP_ROUNDS"]}: a positive multiple of 8`);
const TENURE = tenureCommandFromEnv();
/** The runtime the tenure peers must report: the matrix names it; node when they are the default command. */
const RUNTIME = process.env["TENURE_INTEROP_RUNTIME"] || (TENURE.tenureCommand === undefined ? "node" : undefined);
/** The leader's kind before round i is PATTERN[i % 4]: tenure→tenure, tenure→client-go, client-go→client-go, client-go→tenure. */
const PATTERN: readonly Kind[] = ["tenure", "tenure", "client-go", "client-go"];
const LEASE = "mixed";
const GRACEFUL = "graceful: end of term → started";
const CRASH = "crash: SIGKILL → started";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const on = RUNTIME === undefined ? "" : ` (tenure on ${RUNTIME})`;
it(`2 tenure + 2 client-go v0.37 on one Lease${on}: ${ROUNDS} handovers in every direction, graceful and crash, never two leaders`, { timeout: 60_000 + ROUNDS * 10_000 }, async () => {
  const [box, peers] = await Promise.all([sandbox("interop-mixed", ELECTION_RULES), goPeers(["v0.37"])]);
  const fleet = new Fleet({ kube, namespace: box.namespace, tokenFile: box.tokenFile, name: LEASE, timings: TIMINGS, goPeers: peers, ...TENURE });
  const slots: Record<Kind, readonly Slot[]> = {
    tenure: [new Slot(fleet, "tenure-a", "tenure"), new Slot(fleet, "tenure-b", "tenure")],
    "client-go": [new Slot(fleet, "go-a", "v0.37"), new Slot(fleet, "go-b", "v0.37")],
  };
  const all = [...slots.tenure, ...slots["client-go"]];
  const lease = async (): Promise<SeenRecord> => {
    const record = await readRecord(kube, "leases", box.namespace, LEASE);
    assert.ok(record !== undefined, "the Lease exists");
    return record;
  };
  const measures: Measure[] = [];
  const goCrashes: number[] = [];

  const verdict = await fleet.judge(async () => {
      let leaderSlot = slots.tenure[0] as Slot;
      let leader: Peer = leaderSlot.start();
      await fleet.until(() => leader.leading, 15_000, `${leader.identity} to lead the new Lease`);
      let acquired = await lease();
      let acquiredAt = performance.now();
      assert.equal(acquired.holderIdentity, leader.identity);
      assert.equal(acquired.transitions, 0, "creating the Lease is not a transition");

      for (let round = 0; round < ROUNDS; round++) {
        const from = PATTERN[round % 4] as Kind;
        const to = PATTERN[(round + 1) % 4] as Kind;
        const mode = (Math.floor(round / 4) + round) % 2 === 0 ? "graceful" : "crash";
        const what = `round ${round + 1} (${from}→${to}, ${mode})`;
        assert.equal(leader.kind, from);

        // The only other candidates: those of the next kind.
        const wanted = slots[to].filter((s) => s !== leaderSlot);
        for (const slot of all) {
          if (slot !== leaderSlot && slot.running && !wanted.includes(slot)) await fleet.stop(slot.peer as Peer, "SIGTERM");
        }
        const followers = wanted.map((s) => s.start());
        // Each follower has read the other side's record and names its holder.
        await Promise.all(followers.map((f) => fleet.sees(f, leader.identity)));

        // Renewals (by either side) keep acquireTime and transitions and move renewTime. tenure
        // renews in the next wall-clock second at the earliest (client-go's followers see no
        // renew within one second), so wait for a second boundary as well as a retryPeriod.
        await sleep(Math.max(0, acquiredAt + 1_000 + 1.5 * TIMINGS.retryPeriod - performance.now()));
        const before = await lease();
        assert.equal(before.holderIdentity, leader.identity, `${what}: holder before`);
        assert.equal(before.acquireTime, acquired.acquireTime, `${what}: ${leader.impl} kept acquireTime on renew`);
        assert.equal(before.transitions, acquired.transitions, `${what}: renewals keep leaseTransitions`);
        assert.notEqual(before.renewTime, acquired.renewTime, `${what}: ${leader.impl} renewed`);
        assert.match(before.renewTime ?? "", MICRO_TIME);

        const style = to === "tenure" ? "watching" : "polling";
        const old = leader;
        let from0: number;
        if (mode === "crash") {
          from0 = fleet.signal(old, "SIGKILL");
          // client-go compares records at second precision: it may have seen the last change up to 1 s early.
          const notBefore = earliestTakeover(TIMINGS, to === "tenure" ? "micro" : "second");
          fleet.deadlines.push({ after: from0, within: recoveryBound(TIMINGS, style), notBefore, why: `${what}: ${old.identity} crashed`, from: old.identity });
        } else {
          fleet.signal(old, "SIGTERM");
          await fleet.until(() => old.last("stopped") !== undefined, 5_000, `${what}: ${old.identity} to release and stop`);
          // tenure's work stopped before its release; client-go's "stopped" comes after it.
          from0 = old.ended as number;
          fleet.deadlines.push({ after: from0, within: handoverBound(TIMINGS, style), why: `${what}: ${old.identity} released the Lease`, from: old.identity });
        }
        const next = (): Peer | undefined => followers.find((f) => (f.last("started") ?? -Infinity) >= from0);
        await fleet.until(() => next() !== undefined, recoveryBound(TIMINGS, "polling") + 5_000, `${what}: a new leader`);
        leader = next() as Peer;
        leaderSlot = all.find((s) => s.peer === leader) as Slot;
        const took = (leader.last("started") as number) - from0;
        measures.push({ row: `${from} → ${to}, ${mode === "crash" ? CRASH : GRACEFUL}`, ms: took });
        if (mode === "crash" && to === "client-go") goCrashes.push(took);
        await fleet.within(old.closed, 10_000, `${what}: ${old.identity} to exit`);

        // The new holder read the other side's record: one more transition, a new acquireTime.
        const after = await lease();
        acquired = after;
        acquiredAt = performance.now();
        assert.equal(after.holderIdentity, leader.identity, `${what}: holder after`);
        assert.equal(after.transitions, before.transitions + 1, `${what}: ${leader.impl} counted the take-over from ${old.impl}`);
        assert.notEqual(after.acquireTime, before.acquireTime, `${what}: a take-over sets acquireTime`);
        assert.match(after.acquireTime ?? "", MICRO_TIME);
        assert.equal(after.leaseDurationSeconds, TIMINGS.leaseDuration / 1000);
      }
  });

  const order = ["tenure → tenure", "tenure → client-go", "client-go → tenure", "client-go → client-go"].flatMap((d) => [`${d}, ${GRACEFUL}`, `${d}, ${CRASH}`]);
  console.log(table(`mixed fleet${on}, Lease, 3s/2s/500ms`, measures, order));
  const brief = TIMINGS.leaseDuration + 2.2 * TIMINGS.retryPeriod + 500;
  console.log(`client-go followers after a crash: ${goCrashes.filter((ms) => ms > brief).length} of ${goCrashes.length} took longer than leaseDuration + 2.2 x retryPeriod + 500 ms (${brief} ms)`);
  const tenures = fleet.peers.filter((p) => p.kind === "tenure");
  const clocks = [...new Set(tenures.map((p) => String(p.ready?.["clock"])))];
  const errors = tenures.map((p) => Number(p.ready?.["clock_error_ns"] ?? 0) / 1000);
  console.log(`tenure peers' clock: ${clocks.join(", ")}${clocks.includes("synced") ? `, error at most ${Math.max(...errors).toFixed(0)} µs (median ${errors.sort((a, b) => a - b)[errors.length >> 1]?.toFixed(0)} µs)` : ""}`);
  for (const peer of tenures) {
    assert.ok(peer.ready !== undefined, `${peer.identity} printed its ready line`);
    if (RUNTIME !== undefined) assert.equal(peer.ready["runtime"], RUNTIME, `${peer.identity} ran on ${RUNTIME}, with its transport`);
  }
  for (const direction of ["tenure → tenure", "tenure → client-go", "client-go → client-go", "client-go → tenure"]) {
    for (const mode of [GRACEFUL, CRASH]) {
      assert.equal(measures.filter((m) => m.row === `${direction}, ${mode}`).length, ROUNDS / 8, `${direction}, ${mode}: ${ROUNDS / 8} rounds`);
    }
  }
  assert.equal(verdict.recoveries.length, ROUNDS);
  assert.ok(verdict.intervals.length >= ROUNDS + 1);
});
