/**
 * The in-memory Lease store and its Lock, through the Lock interface: the API server's semantics
 * (NotFound, AlreadyExists versus Conflict, 422 without a resourceVersion, uid preconditions,
 * no-op updates, label merging, MicroTime decoding, Lease validation), ordered resumable watches,
 * and injected faults. Everything timed runs on a VirtualClock; nothing sleeps.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type LockEvent, LockError, type LockErrorReason, type LockVersion, type Snapshot } from "../../src/lock.ts";
import { emptyRecord, type LeaderElectionRecord } from "../../src/record.ts";
import { type LoggedOperation, MemoryLeaseStore, memoryLock, type MemoryLockOptions, type MemoryOp, type MemoryVersion } from "../../adapters/memory.ts";
import { settle, VirtualClock } from "../../adapters/virtual-clock.ts";

const NS = "foo";
const NAME = "bar";
const KEY = `${NS}/${NAME}`;
const T0 = "2026-11-23T18:00:00.000000Z";
const T1 = "2026-11-23T18:00:02.000000Z";

const record = (fields: Partial<LeaderElectionRecord> = {}): LeaderElectionRecord => ({
  ...emptyRecord,
  holderIdentity: "a",
  leaseDurationSeconds: 15,
  acquireTime: T0,
  renewTime: T0,
  ...fields,
});

const setup = (options: Partial<MemoryLockOptions> = {}, history?: number) => {
  const clock = new VirtualClock();
  const store = new MemoryLeaseStore(history === undefined ? { clock } : { clock, history });
  const lock = memoryLock(store, { namespace: NS, name: NAME, client: "a", ...options });
  return { clock, store, lock };
};

/** A signal that never aborts. */
const never = (): AbortSignal => new AbortController().signal;
const rv = (version: LockVersion): string => (version as MemoryVersion).resourceVersion;
const uid = (version: LockVersion): string => (version as MemoryVersion).uid;

/** Asserts a rejection with a LockError of this reason (and status, message when given). */
const rejectsWith = async (
  promise: Promise<unknown>,
  reason: LockErrorReason,
  expected: { readonly message?: string; readonly status?: number } = {},
): Promise<LockError> => {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof LockError, `not a LockError: ${String(caught)}`);
  assert.equal(caught.reason, reason);
  if (expected.message !== undefined) assert.equal(caught.message, expected.message);
  if (expected.status !== undefined) assert.equal(caught.status, expected.status);
  return caught;
};

/** Watches a promise without awaiting it. */
const track = <T>(promise: Promise<T>) => {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
};

const show = (event: LockEvent): string =>
  event._tag === "changed"
    ? `changed ${rv(event.snapshot.version)} ${event.snapshot.record.holderIdentity}`
    : `${event._tag} ${rv(event.version)}`;

/** Reads a watch stream in the background. */
const collect = (stream: AsyncIterable<LockEvent>) => {
  const seen: string[] = [];
  const state: { ended: boolean; error: unknown } = { ended: false, error: undefined };
  const done = (async () => {
    try {
      for await (const event of stream) seen.push(show(event));
      state.ended = true;
    } catch (error) {
      state.error = error;
    }
  })();
  return { seen, state, done };
};

const opsOf = (store: MemoryLeaseStore): string[] => store.operations.map((o) => `${o.op} ${o.result}`);

describe("memory lock: get, create, update", () => {
  it("get of a missing lease is NotFound, with the API server's message", async () => {
    const { lock, store } = setup();
    await rejectsWith(lock.get(never()), "NotFound", { message: `leases.coordination.k8s.io "bar" not found`, status: 404 });
    assert.deepEqual(store.operations, [{ op: "get", key: KEY, client: "a", result: "NotFound" }]);
  });

  it("create stores the record and hands back the object's uid and resourceVersion; get reads the same", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    assert.deepEqual(created, { record: record(), version: { uid: "uid-1", resourceVersion: "101" } });
    assert.deepEqual(await lock.get(never()), created);
    assert.equal(store.read(NS, NAME)?.resourceVersion, "101");
  });

  it("create twice is AlreadyExists (409), and the first record stays", async () => {
    const { lock, store } = setup();
    await lock.create(record({ holderIdentity: "a" }), never());
    await rejectsWith(lock.create(record({ holderIdentity: "b" }), never()), "AlreadyExists", {
      message: `leases.coordination.k8s.io "bar" already exists`,
      status: 409,
    });
    assert.equal(store.read(NS, NAME)?.record.holderIdentity, "a");
    assert.equal(store.read(NS, NAME)?.resourceVersion, "101");
  });

  it("update with the current version writes and bumps the resourceVersion", async () => {
    const { lock } = setup();
    const created = await lock.create(record(), never());
    const updated = await lock.update(record({ renewTime: T1 }), created.version, never());
    assert.deepEqual(updated, { record: record({ renewTime: T1 }), version: { uid: "uid-1", resourceVersion: "102" } });
  });

  it("update with a stale version is Conflict (409), and the store keeps the newer write", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    await lock.update(record({ renewTime: T1 }), created.version, never());
    await rejectsWith(lock.update(record({ holderIdentity: "b" }), created.version, never()), "Conflict", {
      message: `Operation cannot be fulfilled on leases.coordination.k8s.io "bar": the object has been modified; please apply your changes to the latest version and try again`,
      status: 409,
    });
    assert.deepEqual(store.read(NS, NAME)?.record, record({ renewTime: T1 }));
    assert.equal(store.read(NS, NAME)?.resourceVersion, "102");
  });

  const noVersions: readonly (readonly [string, MemoryVersion | undefined])[] = [
    ["undefined", undefined],
    ["an empty resourceVersion", { uid: "uid-1", resourceVersion: "" }],
  ];
  for (const [name, version] of noVersions) {
    it(`update with ${name} version is Invalid (422): the Lease allows no unconditional update`, async () => {
      const { lock, store } = setup();
      await lock.create(record(), never());
      await rejectsWith(lock.update(record({ holderIdentity: "b" }), version, never()), "Invalid", {
        message: `Lease.coordination.k8s.io "bar" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
        status: 422,
      });
      assert.equal(store.read(NS, NAME)?.record.holderIdentity, "a");
    });
  }

  it("update after the lease was deleted is Conflict (the uid precondition fails)", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    assert.equal(store.delete(NS, NAME), true);
    await rejectsWith(lock.update(record({ renewTime: T1 }), created.version, never()), "Conflict", {
      message: `Operation cannot be fulfilled on leases.coordination.k8s.io "bar": Precondition failed: UID in precondition: uid-1, UID in object meta: `,
      status: 409,
    });
    assert.equal(store.read(NS, NAME), undefined);
  });

  it("update after delete and re-create is Conflict, even though a lease of that name exists", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    store.delete(NS, NAME);
    const recreated = await lock.create(record({ holderIdentity: "b" }), never());
    assert.deepEqual(recreated.version, { uid: "uid-2", resourceVersion: "103" });
    await rejectsWith(lock.update(record({ renewTime: T1 }), created.version, never()), "Conflict", {
      message: `Operation cannot be fulfilled on leases.coordination.k8s.io "bar": Precondition failed: UID in precondition: uid-1, UID in object meta: uid-2`,
    });
    // Even with the new object's resourceVersion, the old uid does not match.
    await rejectsWith(lock.update(record(), { uid: "uid-1", resourceVersion: "103" }, never()), "Conflict");
    assert.equal(store.read(NS, NAME)?.record.holderIdentity, "b");
  });

  it("delete of a missing lease reports false", () => {
    const { store } = setup();
    assert.equal(store.delete(NS, NAME), false);
  });

  it("an identical update is a no-op: same resourceVersion, no watch event", async () => {
    const { lock, store } = setup({ labels: { app: "tenure" } });
    const created = await lock.create(record(), never());
    const watch = collect(await lock.watch!(created.version, never()));
    const same = await lock.update(record(), created.version, never());
    assert.deepEqual(same, created);
    await lock.update(record({ renewTime: T1 }), same.version, never());
    await settle();
    assert.deepEqual(watch.seen, ["changed 102 a"]);
    assert.deepEqual(opsOf(store), ["create ok", "watch ok", "update ok", "update ok"]);
  });

  it("the lock's labels go on create and are merged on update; labels written by others are kept", async () => {
    const { lock, store } = setup({ labels: { app: "tenure", tier: "control" } });
    const created = await lock.create(record(), never());
    assert.deepEqual(store.read(NS, NAME)?.labels, { app: "tenure", tier: "control" });
    // An admin labels the lease, and changes one of ours.
    store.write(NS, NAME, { labels: { team: "infra", tier: "edited" }, annotations: { note: "hi" } });
    const observed = await lock.get(never());
    assert.notEqual(rv(observed.version), rv(created.version));
    await lock.update(record({ renewTime: T1 }), observed.version, never());
    const stored = store.read(NS, NAME);
    assert.deepEqual(stored?.labels, { app: "tenure", tier: "control", team: "infra" });
    assert.deepEqual(stored?.annotations, { note: "hi" });
  });

  it("re-applying the lock's own label is a change even when the record is the same", async () => {
    const { lock, store } = setup({ labels: { app: "tenure" } });
    await lock.create(record(), never());
    store.write(NS, NAME, { labels: { app: "other" } });
    const observed = await lock.get(never());
    const updated = await lock.update(record(), observed.version, never());
    assert.equal(rv(updated.version), String(Number(rv(observed.version)) + 1));
    assert.deepEqual(store.read(NS, NAME)?.labels, { app: "tenure" });
  });

  it("a write by another client changes the resourceVersion, so our old version conflicts", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    store.write(NS, NAME, { labels: { team: "infra" } });
    await rejectsWith(lock.update(record({ renewTime: T1 }), created.version, never()), "Conflict");
  });

  it("a lock without labels leaves the stored labels alone", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    assert.deepEqual(store.read(NS, NAME)?.labels, {});
    store.write(NS, NAME, { labels: { team: "infra" } });
    const observed = await lock.get(never());
    await lock.update(record({ renewTime: T1 }), observed.version, never());
    assert.deepEqual(store.read(NS, NAME)?.labels, { team: "infra" });
    assert.equal(uid(observed.version), uid(created.version));
  });
});

describe("memory lock: what the API server decodes and validates", () => {
  const badTimes: readonly (readonly [string, Partial<LeaderElectionRecord>, string, string])[] = [
    ["three digits (toISOString)", { acquireTime: "2026-11-23T18:43:06.123Z" }, "acquireTime", "2026-11-23T18:43:06.123Z"],
    ["nine digits", { renewTime: "2026-11-23T18:43:06.123456789Z" }, "renewTime", "2026-11-23T18:43:06.123456789Z"],
    ["no fraction", { renewTime: "2026-11-23T18:43:06Z" }, "renewTime", "2026-11-23T18:43:06Z"],
    ["a date only", { acquireTime: "2026-11-23" }, "acquireTime", "2026-11-23"],
  ];
  for (const [name, fields, field, value] of badTimes) {
    it(`a MicroTime with ${name} is BadRequest (400) on create`, async () => {
      const { lock, store } = setup();
      await rejectsWith(lock.create(record(fields), never()), "BadRequest", {
        message: `Lease in version "v1" cannot be handled as a Lease: parsing time "${value}" as "2006-01-02T15:04:05.000000Z07:00": ${field} must have exactly six fractional digits`,
        status: 400,
      });
      assert.equal(store.read(NS, NAME), undefined);
      assert.deepEqual(opsOf(store), ["create BadRequest"]);
    });
  }

  it("a three-digit time is BadRequest on update, before the version is even looked at", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    await lock.update(record({ renewTime: T1 }), created.version, never());
    await rejectsWith(lock.update(record({ renewTime: "2026-11-23T18:43:06.123Z" }), created.version, never()), "BadRequest", { status: 400 });
    assert.equal(store.read(NS, NAME)?.record.renewTime, T1);
  });

  it("accepts six digits with an offset, and null times", async () => {
    const { lock } = setup();
    const fields = { acquireTime: "2026-11-23T20:43:06.123456+02:00", renewTime: null };
    assert.deepEqual((await lock.create(record(fields), never())).record, record(fields));
  });

  it("leaseDurationSeconds 0 is Invalid (422)", async () => {
    const { lock, store } = setup();
    await rejectsWith(lock.create(record({ leaseDurationSeconds: 0 }), never()), "Invalid", {
      message: `Lease.coordination.k8s.io "bar" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0`,
      status: 422,
    });
    assert.equal(store.read(NS, NAME), undefined);
  });

  it("preferredHolder without a strategy is Invalid (422)", async () => {
    const { lock } = setup();
    await rejectsWith(lock.create(record({ preferredHolder: "b" }), never()), "Invalid", {
      message: `Lease.coordination.k8s.io "bar" is invalid: spec.preferredHolder: Forbidden: may only be specified if \`strategy\` is defined`,
      status: 422,
    });
  });

  it("preferredHolder with a strategy is accepted", async () => {
    const { lock } = setup();
    const fields = { preferredHolder: "b", strategy: "OldestEmulationVersion" };
    assert.deepEqual((await lock.create(record(fields), never())).record, record(fields));
  });

  it("reports every invalid field at once, negative leaseTransitions included", async () => {
    const { lock } = setup();
    await rejectsWith(lock.create(record({ leaseDurationSeconds: -1, leaseTransitions: -1, preferredHolder: "b" }), never()), "Invalid", {
      message:
        `Lease.coordination.k8s.io "bar" is invalid: spec.leaseDurationSeconds: Invalid value: -1: must be greater than 0, ` +
        `spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0, ` +
        "spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined",
    });
  });

  it("an invalid update with the current version is Invalid, and changes nothing", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    await rejectsWith(lock.update(record({ leaseDurationSeconds: 0 }), created.version, never()), "Invalid", { status: 422 });
    assert.deepEqual(store.read(NS, NAME)?.record, record());
  });

  it("an invalid update with a stale version is Conflict: preconditions are checked before validation", async () => {
    const { lock } = setup();
    const created = await lock.create(record(), never());
    await lock.update(record({ renewTime: T1 }), created.version, never());
    await rejectsWith(lock.update(record({ leaseDurationSeconds: 0 }), created.version, never()), "Conflict", { status: 409 });
  });

  it("create validates before it checks for an existing object (the server's order)", async () => {
    const { lock } = setup();
    await lock.create(record(), never());
    await rejectsWith(lock.create(record({ leaseDurationSeconds: 0 }), never()), "Invalid");
  });
});

describe("memory lock: watch", () => {
  it("from a version, delivers only the later changes, in order, then live ones", async () => {
    const { lock } = setup();
    const first = await lock.create(record(), never());
    const second = await lock.update(record({ renewTime: T1 }), first.version, never());
    const third = await lock.update(record({ holderIdentity: "b" }), second.version, never());
    const watch = collect(await lock.watch!(first.version, never()));
    await settle();
    assert.deepEqual(watch.seen, ["changed 102 a", "changed 103 b"]);
    await lock.update(record({ holderIdentity: "c" }), third.version, never());
    await settle();
    assert.deepEqual(watch.seen, ["changed 102 a", "changed 103 b", "changed 104 c"]);
  });

  it("from the current version, delivers nothing until something changes", async () => {
    const { lock } = setup();
    const created = await lock.create(record(), never());
    const watch = collect(await lock.watch!(created.version, never()));
    await settle();
    assert.deepEqual(watch.seen, []);
  });

  it("from undefined, starts with the object as it is, then its changes", async () => {
    const { lock } = setup();
    const created = await lock.create(record(), never());
    const updated = await lock.update(record({ renewTime: T1 }), created.version, never());
    const watch = collect(await lock.watch!(undefined, never()));
    await settle();
    assert.deepEqual(watch.seen, ["changed 102 a"]);
    await lock.update(record({ holderIdentity: "b" }), updated.version, never());
    await settle();
    assert.deepEqual(watch.seen, ["changed 102 a", "changed 103 b"]);
  });

  it("from undefined with no object, delivers the creation", async () => {
    const { lock } = setup();
    const watch = collect(await lock.watch!(undefined, never()));
    await settle();
    assert.deepEqual(watch.seen, []);
    await lock.create(record(), never());
    await settle();
    assert.deepEqual(watch.seen, ["changed 101 a"]);
  });

  it("delivers a deletion with the object's uid, and writes by others", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    const events: LockEvent[] = [];
    const stream = await lock.watch!(created.version, never());
    const reading = (async () => {
      for await (const event of stream) events.push(event);
    })();
    store.write(NS, NAME, { labels: { team: "infra" } });
    store.delete(NS, NAME);
    await settle();
    assert.deepEqual(events.map(show), ["changed 102 a", "deleted 103"]);
    assert.deepEqual(events[1], { _tag: "deleted", version: { uid: "uid-1", resourceVersion: "103" } });
    store.closeWatches();
    await reading;
  });

  it("does not deliver changes to other leases", async () => {
    const { lock, store } = setup();
    const other = memoryLock(store, { namespace: NS, name: "other" });
    const otherNamespace = memoryLock(store, { namespace: "elsewhere", name: NAME });
    const watch = collect(await lock.watch!(undefined, never()));
    await other.create(record({ holderIdentity: "x" }), never());
    await otherNamespace.create(record({ holderIdentity: "y" }), never());
    await lock.create(record({ holderIdentity: "z" }), never());
    await settle();
    assert.deepEqual(watch.seen, ["changed 103 z"]);
  });

  it("resuming from a version older than the history after compact() is Expired (410)", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    const updated = await lock.update(record({ renewTime: T1 }), created.version, never());
    store.compact();
    await rejectsWith(lock.watch!(created.version, never()), "Expired", { message: "too old resource version: 101 (102)", status: 410 });
    assert.deepEqual(store.operations.at(-1), { op: "watch", key: KEY, client: "a", result: "Expired" });
    // The current version is still a valid place to resume from.
    const watch = collect(await lock.watch!(updated.version, never()));
    await lock.update(record({ holderIdentity: "b" }), updated.version, never());
    await settle();
    assert.deepEqual(watch.seen, ["changed 103 b"]);
  });

  it("keeps only `history` changes to resume from", async () => {
    const { lock } = setup({}, 2);
    const first = await lock.create(record(), never()); // 101
    const second = await lock.update(record({ renewTime: T1 }), first.version, never()); // 102
    const third = await lock.update(record({ holderIdentity: "b" }), second.version, never()); // 103
    const watch = collect(await lock.watch!(first.version, never())); // 102 and 103 are both still kept
    await lock.update(record({ holderIdentity: "c" }), third.version, never()); // 104; 102 falls out
    await rejectsWith(lock.watch!(first.version, never()), "Expired", { message: "too old resource version: 101 (102)", status: 410 });
    const later = collect(await lock.watch!(second.version, never()));
    await settle();
    assert.deepEqual(watch.seen, ["changed 102 a", "changed 103 b", "changed 104 c"]);
    assert.deepEqual(later.seen, ["changed 103 b", "changed 104 c"]);
  });

  it("closeWatches() ends every open stream", async () => {
    const { lock, store } = setup();
    const one = collect(await lock.watch!(undefined, never()));
    const two = collect(await memoryLock(store, { namespace: NS, name: NAME }).watch!(undefined, never()));
    store.closeWatches();
    await Promise.all([one.done, two.done]);
    assert.deepEqual([one.state, two.state], [{ ended: true, error: undefined }, { ended: true, error: undefined }]);
    // Closed streams hear nothing more.
    await lock.create(record(), never());
    await settle();
    assert.deepEqual([one.seen, two.seen], [[], []]);
  });

  it("closeWatches(error) fails the streams with that error", async () => {
    const { lock, store } = setup();
    const watch = collect(await lock.watch!(undefined, never()));
    const error = new LockError("ServerError", "apiserver shutting down", { status: 500 });
    store.closeWatches(error);
    await watch.done;
    assert.equal(watch.state.error, error);
    assert.equal(watch.state.ended, false);
  });

  it("events already delivered are still read after the stream ends", async () => {
    const { lock, store } = setup();
    const stream = await lock.watch!(undefined, never());
    await lock.create(record(), never());
    store.closeWatches();
    const seen: string[] = [];
    for await (const event of stream) seen.push(show(event));
    assert.deepEqual(seen, ["changed 101 a"]);
  });

  it("aborting the signal ends the stream and unsubscribes", async () => {
    const { lock } = setup();
    const controller = new AbortController();
    const watch = collect(await lock.watch!(undefined, controller.signal));
    controller.abort();
    await watch.done;
    assert.equal(watch.state.ended, true);
    await lock.create(record(), never());
    await settle();
    assert.deepEqual(watch.seen, []);
  });

  it("an already aborted signal fails the watch with Timeout", async () => {
    const { lock, store } = setup();
    const controller = new AbortController();
    controller.abort();
    await rejectsWith(lock.watch!(undefined, controller.signal), "Timeout");
    assert.deepEqual(store.operations, []);
  });

  it("watchLatency delays delivery by that many virtual milliseconds", async () => {
    const { lock, clock } = setup({ watchLatency: 100 });
    const watch = collect(await lock.watch!(undefined, never()));
    await lock.create(record(), never());
    await clock.advance(99);
    assert.deepEqual(watch.seen, []);
    await clock.advance(1);
    assert.deepEqual(watch.seen, ["changed 101 a"]);
  });

  it("varying watchLatency never lets a later event overtake an earlier one", async () => {
    const latencies = [300, 100, 0];
    const { lock, clock } = setup({ watchLatency: () => latencies.shift() ?? 0 });
    const watch = collect(await lock.watch!(undefined, never()));
    const first = await lock.create(record(), never()); // delivered at 300
    const second = await lock.update(record({ renewTime: T1 }), first.version, never()); // 100, held back to 300
    await lock.update(record({ holderIdentity: "b" }), second.version, never()); // 0, held back to 300
    await clock.advance(299);
    assert.deepEqual(watch.seen, []);
    await clock.advance(1);
    assert.deepEqual(watch.seen, ["changed 101 a", "changed 102 a", "changed 103 b"]);
  });

  it("a failure from closeWatches(error) waits behind the events before it", async () => {
    const { lock, store, clock } = setup({ watchLatency: 50 });
    const watch = collect(await lock.watch!(undefined, never()));
    await lock.create(record(), never());
    store.closeWatches(new LockError("ServerError", "gone"));
    await clock.advance(50);
    await watch.done;
    assert.deepEqual(watch.seen, ["changed 101 a"]);
    assert.equal((watch.state.error as LockError).reason, "ServerError");
  });

  it("a lock made with watch: false offers no watch", () => {
    const { store } = setup();
    assert.equal(memoryLock(store, { namespace: NS, name: NAME, watch: false }).watch, undefined);
  });
});

describe("memory lock: injected faults", () => {
  it("an error before the server applies it: the store is unchanged, the log says why", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    lock.inject({ ops: ["update"], error: "ServerError", times: 1 });
    await rejectsWith(lock.update(record({ renewTime: T1 }), created.version, never()), "ServerError", { message: "injected ServerError on update" });
    assert.deepEqual(store.read(NS, NAME)?.record, record());
    assert.equal(store.read(NS, NAME)?.resourceVersion, "101");
    // Once only: the retry with the same version goes through.
    assert.equal(rv((await lock.update(record({ renewTime: T1 }), created.version, never())).version), "102");
    assert.deepEqual(opsOf(store), ["create ok", "update ServerError", "update ok"]);
  });

  it("an error after the server applied it: the write happened, the caller hears a failure", async () => {
    const { lock, store } = setup();
    const created = await lock.create(record(), never());
    lock.inject({ ops: ["update"], error: "Timeout", applied: true, times: 1 });
    await rejectsWith(lock.update(record({ renewTime: T1 }), created.version, never()), "Timeout", {
      message: "injected Timeout on update after the server applied it",
    });
    assert.deepEqual(store.read(NS, NAME)?.record, record({ renewTime: T1 }));
    assert.equal(store.read(NS, NAME)?.resourceVersion, "102");
    assert.deepEqual(opsOf(store), ["create ok", "update ok"]);
    // The caller's version is now stale.
    await rejectsWith(lock.update(record({ renewTime: T1 }), created.version, never()), "Conflict");
  });

  it("an applied create: the object exists, and creating again is AlreadyExists", async () => {
    const { lock, store } = setup();
    lock.inject({ ops: ["create"], error: "Network", applied: true, times: 1 });
    await rejectsWith(lock.create(record(), never()), "Network");
    assert.equal(store.read(NS, NAME)?.record.holderIdentity, "a");
    await rejectsWith(lock.create(record(), never()), "AlreadyExists");
  });

  it("with applied, a request the server refuses reports the server's error", async () => {
    const { lock } = setup();
    lock.inject({ ops: ["get"], error: "ServerError", applied: true });
    await rejectsWith(lock.get(never()), "NotFound");
  });

  it("delay: the server sees the request only after that many virtual milliseconds", async () => {
    const { lock, store, clock } = setup();
    await lock.create(record(), never());
    lock.inject({ ops: ["get"], delay: 500, times: 1 });
    const got = track(lock.get(never()));
    await clock.advance(200);
    store.write(NS, NAME, { record: { holderIdentity: "b" } }); // lands before the request does
    await clock.advance(299);
    assert.equal(got.settled, false);
    assert.deepEqual(opsOf(store), ["create ok"]);
    await clock.advance(1);
    assert.equal(got.settled, true);
    assert.equal((got.value as Snapshot).record.holderIdentity, "b");
    assert.deepEqual(opsOf(store), ["create ok", "get ok"]);
  });

  it("responseDelay: the server applies at once, the caller hears back later", async () => {
    const { lock, store, clock } = setup();
    const created = await lock.create(record(), never());
    lock.inject({ ops: ["update"], responseDelay: 300 });
    const updated = track(lock.update(record({ renewTime: T1 }), created.version, never()));
    await settle();
    assert.equal(store.read(NS, NAME)?.resourceVersion, "102");
    await clock.advance(299);
    assert.equal(updated.settled, false);
    await clock.advance(1);
    assert.equal(rv((updated.value as Snapshot).version), "102");
  });

  it("responseDelay also delays the server's refusals", async () => {
    const { lock, clock } = setup();
    lock.inject({ ops: ["get"], responseDelay: 300 });
    const got = track(lock.get(never()));
    await clock.advance(299);
    assert.equal(got.settled, false);
    await clock.advance(1);
    assert.equal((got.error as LockError).reason, "NotFound");
  });

  it("aborting during a delay: Timeout, and the server never sees the request", async () => {
    const { lock, store, clock } = setup();
    const created = await lock.create(record(), never());
    lock.inject({ ops: ["update"], delay: 1_000 });
    const controller = new AbortController();
    const updated = lock.update(record({ renewTime: T1 }), created.version, controller.signal);
    await clock.advance(400);
    controller.abort();
    await rejectsWith(updated, "Timeout", { message: "the request was aborted" });
    await clock.advance(10_000);
    assert.equal(store.read(NS, NAME)?.resourceVersion, "101");
    assert.deepEqual(opsOf(store), ["create ok"]);
  });

  it("hang: never answers until the signal aborts, then rejects with Timeout", async () => {
    const { lock, store, clock } = setup();
    const created = await lock.create(record(), never());
    lock.inject({ ops: ["update"], hang: true });
    const controller = new AbortController();
    const updated = track(lock.update(record({ renewTime: T1 }), created.version, controller.signal));
    await clock.advance(3_600_000);
    assert.equal(updated.settled, false);
    controller.abort();
    await settle();
    assert.equal(updated.settled, true);
    assert.ok(updated.error instanceof LockError);
    assert.equal(updated.error.reason, "Timeout");
    assert.equal(store.read(NS, NAME)?.resourceVersion, "101");
    assert.deepEqual(opsOf(store), ["create ok"]);
  });

  it("hang: a LockError given as the abort reason is what the caller gets", async () => {
    const { lock } = setup();
    lock.inject({ ops: ["get"], hang: true });
    const controller = new AbortController();
    const got = lock.get(controller.signal);
    const reason = new LockError("Timeout", "request timed out after 5000 ms");
    controller.abort(reason);
    await assert.rejects(got, (error: unknown) => error === reason);
  });

  it("times: applies to that many matching operations; others do not use it up", async () => {
    const { lock, store } = setup();
    lock.inject({ ops: ["get"], error: "ServerError", times: 2 });
    await lock.create(record(), never());
    await rejectsWith(lock.get(never()), "ServerError");
    await lock.create(record(), never()).catch(() => {});
    await rejectsWith(lock.get(never()), "ServerError");
    await lock.get(never());
    assert.deepEqual(opsOf(store), ["create ok", "get ServerError", "create AlreadyExists", "get ServerError", "get ok"]);
  });

  it("ops: a fault applies only to the operations named", async () => {
    const { lock, store } = setup();
    lock.inject({ ops: ["create", "watch"], error: "Forbidden" });
    await rejectsWith(lock.get(never()), "NotFound");
    await rejectsWith(lock.create(record(), never()), "Forbidden");
    await rejectsWith(lock.watch!(undefined, never()), "Forbidden", { message: "injected Forbidden on watch" });
    store.write(NS, NAME, { record: record() });
    const observed = await lock.get(never());
    await lock.update(record({ renewTime: T1 }), observed.version, never());
    assert.deepEqual(opsOf(store), ["get NotFound", "create Forbidden", "watch Forbidden", "get ok", "update ok"]);
  });

  it("without ops, a fault applies to every operation, watch included", async () => {
    const { lock, store } = setup();
    lock.inject({ error: "TooManyRequests" });
    await rejectsWith(lock.get(never()), "TooManyRequests");
    await rejectsWith(lock.create(record(), never()), "TooManyRequests");
    await rejectsWith(lock.update(record(), { uid: "uid-1", resourceVersion: "101" }, never()), "TooManyRequests");
    await rejectsWith(lock.watch!(undefined, never()), "TooManyRequests");
    assert.deepEqual(opsOf(store), ["get TooManyRequests", "create TooManyRequests", "update TooManyRequests", "watch TooManyRequests"]);
  });

  it("a watch can be delayed or hung like a request", async () => {
    const { lock, clock } = setup();
    lock.inject({ ops: ["watch"], delay: 200, times: 1 });
    const opened = track(lock.watch!(undefined, never()));
    await clock.advance(199);
    assert.equal(opened.settled, false);
    await clock.advance(1);
    assert.equal(opened.settled, true);
    lock.inject({ ops: ["watch"], hang: true, times: 1 });
    const controller = new AbortController();
    const hung = lock.watch!(undefined, controller.signal);
    await clock.advance(60_000);
    controller.abort();
    await rejectsWith(hung, "Timeout");
  });

  it("a FaultPlan function decides per operation", async () => {
    const { lock, store } = setup();
    const asked: MemoryOp[] = [];
    let updates = 0;
    lock.inject((op) => {
      asked.push(op);
      return op === "update" && updates++ % 2 === 0 ? { error: "ServerError" } : undefined;
    });
    let observed = await lock.create(record(), never());
    for (const renewTime of ["2026-11-23T18:00:01.000000Z", "2026-11-23T18:00:02.000000Z"]) {
      await rejectsWith(lock.update(record({ renewTime }), observed.version, never()), "ServerError");
      observed = await lock.update(record({ renewTime }), observed.version, never());
    }
    assert.deepEqual(asked, ["create", "update", "update", "update", "update"]);
    assert.deepEqual(opsOf(store), ["create ok", "update ServerError", "update ok", "update ServerError", "update ok"]);
  });

  it("the first fault that matches is used; exhausted ones are skipped", async () => {
    const { lock } = setup();
    lock.inject({ ops: ["get"], error: "Unauthorized", times: 1 });
    lock.inject({ ops: ["get"], error: "Forbidden", times: 1 });
    await rejectsWith(lock.get(never()), "Unauthorized");
    await rejectsWith(lock.get(never()), "Forbidden");
    await rejectsWith(lock.get(never()), "NotFound");
  });

  it("inject returns a function that removes that fault, and only that one, however often it is called", async () => {
    const { lock } = setup();
    const removeFirst = lock.inject({ ops: ["get"], error: "Unauthorized" });
    lock.inject({ ops: ["create"], error: "Forbidden" });
    removeFirst();
    removeFirst();
    await rejectsWith(lock.get(never()), "NotFound");
    await rejectsWith(lock.create(record(), never()), "Forbidden");
  });
});

describe("MemoryLeaseStore.operations", () => {
  it("records each request's op, key, client and result, in order, across locks", async () => {
    const { store, lock } = setup();
    const other = memoryLock(store, { namespace: NS, name: NAME, client: "b" });
    const anonymous = memoryLock(store, { namespace: NS, name: "other" });
    await rejectsWith(lock.get(never()), "NotFound");
    const created = await lock.create(record(), never());
    await rejectsWith(other.create(record({ holderIdentity: "b" }), never()), "AlreadyExists");
    const seen = await other.get(never());
    await other.update(record({ holderIdentity: "b" }), seen.version, never());
    await rejectsWith(lock.update(record({ renewTime: T1 }), created.version, never()), "Conflict");
    await anonymous.watch!(undefined, never());
    const expected: LoggedOperation[] = [
      { op: "get", key: KEY, client: "a", result: "NotFound" },
      { op: "create", key: KEY, client: "a", result: "ok" },
      { op: "create", key: KEY, client: "b", result: "AlreadyExists" },
      { op: "get", key: KEY, client: "b", result: "ok" },
      { op: "update", key: KEY, client: "b", result: "ok" },
      { op: "update", key: KEY, client: "a", result: "Conflict" },
      { op: "watch", key: `${NS}/other`, client: undefined, result: "ok" },
    ];
    assert.deepEqual(store.operations, expected);
    store.closeWatches();
  });

  it("does not log store.write, delete, or requests the server never saw", async () => {
    const { store, lock } = setup();
    store.write(NS, NAME, { record: record() });
    store.delete(NS, NAME);
    const controller = new AbortController();
    controller.abort();
    await rejectsWith(lock.get(controller.signal), "Timeout");
    assert.deepEqual(store.operations, []);
  });
});
