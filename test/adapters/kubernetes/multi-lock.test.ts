/**
 * multiLock over two memory locks (the annotation lock's and the Lease's semantics are the same
 * CAS on resourceVersion): what a rolling migration endpoints → endpointsleases → leases needs from
 * it when Lease-only peers run beside it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryLeaseStore, memoryLock } from "../../../adapters/memory.ts";
import { createElector } from "../../../src/index.ts";
import type { Lock, Snapshot } from "../../../src/lock.ts";
import { multiLock, UNKNOWN_LEADER } from "../../../adapters/kubernetes/multi-lock.ts";
import { VirtualClock } from "../../../adapters/virtual-clock.ts";
import { isLockError } from "../../../src/lock.ts";
import { emptyRecord, type LeaderElectionRecord } from "../../../src/record.ts";

const NS = "ns";
const T0 = "2026-12-02T10:00:00.000000Z";
const T1 = "2026-12-02T10:00:05.000000Z";
const signal = new AbortController().signal;

const record = (holderIdentity: string, renewTime = T0): LeaderElectionRecord => ({
  ...emptyRecord,
  holderIdentity,
  leaseDurationSeconds: 15,
  acquireTime: T0,
  renewTime,
});

/** Times to the second, as an annotation record holds them (`2026-12-02T10:00:00Z`). */
const toSecond = (time: string | null): string | null => (time === null ? null : `${time.slice(0, 19)}Z`);
const inSeconds = (observed: Snapshot): Snapshot => ({
  ...observed,
  record: { ...observed.record, acquireTime: toSecond(observed.record.acquireTime), renewTime: toSecond(observed.record.renewTime) },
});

/** A lock that reads back whole-second times, as endpointsLock and configMapLock do. */
const annotationLike = (lock: Lock): Lock => ({
  description: lock.description,
  get: async (signal) => inSeconds(await lock.get(signal)),
  create: async (record, signal) => inSeconds(await lock.create(record, signal)),
  update: async (record, version, signal) => inSeconds(await lock.update(record, version, signal)),
});

/** A store with the legacy object and the Lease; `a` uses a MultiLock, `b` the Lease alone. */
const setup = () => {
  const store = new MemoryLeaseStore({ clock: new VirtualClock() });
  const legacy = (client: string) => memoryLock(store, { namespace: NS, name: "legacy", client });
  const lease = (client: string) => memoryLock(store, { namespace: NS, name: "lease", client });
  return { store, legacy, lease, multi: multiLock(legacy("a"), lease("a")), leaseOnly: lease("b") };
};

describe("multiLock", () => {
  it("loses the race when a Lease-only peer took the Lease after the attempt read it, and leaves the holders unknown", async () => {
    const { legacy, lease, multi, leaseOnly } = setup();
    // A released lease, as a MultiLock leader's release leaves both objects.
    await legacy("old").create(record(""), signal);
    await lease("old").create(record(""), signal);
    const seen = await multi.get(signal);
    assert.equal(seen.record.holderIdentity, "");

    // Between our read and our write, the Lease-only peer (it watches) takes the Lease.
    const taken = await leaseOnly.get(signal);
    await leaseOnly.update(record("b"), taken.version, signal);

    await assert.rejects(multi.update(record("a"), seen.version, signal), (error) => isLockError(error) && error.reason === "Conflict");
    assert.equal((await leaseOnly.get(signal)).record.holderIdentity, "b", "the Lease-only leader keeps the Lease");
    const after = await multi.get(signal);
    assert.equal(after.record.holderIdentity, UNKNOWN_LEADER, "every MultiLock now waits");
  });

  it("loses the race when a Lease-only peer created the Lease after the attempt found none", async () => {
    const { legacy, multi, leaseOnly } = setup();
    await legacy("old").create(record(""), signal);
    const seen = await multi.get(signal);
    await leaseOnly.create(record("b"), signal);
    await assert.rejects(multi.update(record("a"), seen.version, signal), (error) => isLockError(error) && error.reason === "AlreadyExists");
    assert.equal((await leaseOnly.get(signal)).record.holderIdentity, "b");
  });

  it("writes both objects, and renews from the versions its own write returned (no read in between)", async () => {
    const { store, legacy, lease, multi } = setup();
    await legacy("old").create(record(""), signal);
    await lease("old").create(record(""), signal);
    const acquired = await multi.update(record("a"), (await multi.get(signal)).version, signal);
    const before = store.operations.length;
    const renewed = await multi.update(record("a", T1), acquired.version, signal);
    assert.deepEqual(store.operations.slice(before).map((o) => o.op), ["update", "update"], "a fast-path renew is two writes");
    assert.equal(renewed.record.renewTime, T1);
    assert.equal((await lease("x").get(signal)).record.renewTime, T1);
    assert.equal((await legacy("x").get(signal)).record.renewTime, T1);
  });

  it("keeps a leader whose legacy object reads back whole seconds: renews write the Lease's MicroTimes, not the annotation's", async () => {
    const clock = new VirtualClock();
    const store = new MemoryLeaseStore({ clock });
    const legacy = annotationLike(memoryLock(store, { namespace: NS, name: "legacy", client: "a" }));
    const lease = memoryLock(store, { namespace: NS, name: "lease", client: "a" });
    const errors: string[] = [];
    let led = 0;
    let lost = false;
    const stop = new AbortController();
    const elector = createElector({
      lock: multiLock(legacy, lease),
      identity: "a",
      leaseDuration: 3_000,
      renewDeadline: 2_000,
      retryPeriod: 500,
      watch: false,
      clock,
      onStartedLeading: (signal) => {
        led++;
        signal.addEventListener("abort", () => void (lost = !stop.signal.aborted));
      },
      onStoppedLeading: () => {},
      onError: (error) => void errors.push(error.message),
    });
    const run = elector.run(stop.signal);
    await clock.advance(20_000);
    assert.equal(led, 1);
    assert.equal(lost, false, `the leader lost the lease: ${errors[0] ?? "no error reported"}`);
    assert.ok(elector.isLeader());
    assert.deepEqual(errors, []);
    stop.abort();
    await run;
  });
});
