/**
 * Coordinated mode on the memory lock with a virtual clock: the test plays the API server's
 * coordinator by writing the Lease as it does (holder, 5 s, no acquireTime; preferredHolder), and a
 * fake candidacy stands in for the LeaseCandidate. Also: strategy and preferredHolder in the
 * records tenure writes uncoordinated, and leadership events.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ElectorOptions, LeadershipLostError, type Lock, type LockVersion } from "../../src/index.ts";
import { memoryLock } from "../../adapters/memory.ts";
import { type Candidate, when, world, type World } from "../support/candidates.ts";
import { formatMicroTime } from "../../src/record.ts";

const STRATEGY = "OldestEmulationVersion";

interface Log {
  readonly entries: string[];
}

/** The memory lock plus a candidacy that logs what it is asked. */
const candidateLock = (w: World, id: string, log: Log): Lock => ({
  ...memoryLock(w.store, { namespace: "foo", name: "bar", client: id }),
  candidacy: async (identity, signal) => {
    log.entries.push(`${w.clock.now()} register ${identity}`);
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    log.entries.push(`${w.clock.now()} withdraw ${identity}`);
  },
});

/** What the coordinator writes to give the Lease to `holder` (a new Lease, or an expired or holderless one). */
const assign = (w: World, holder: string): void =>
  void w.store.write("foo", "bar", {
    record: { holderIdentity: holder, leaseDurationSeconds: 5, acquireTime: null, renewTime: formatMicroTime(w.clock.wall()), preferredHolder: "", strategy: STRATEGY },
  });

const coordinated = (w: World, id: string, log: Log = { entries: [] }, options: Partial<ElectorOptions> = {}): Candidate =>
  w.candidate(id, { lock: candidateLock(w, id, log), ...options });

const record = (w: World) => w.store.read("foo", "bar")?.record;

describe("coordinated election: the elector", () => {
  it("registers its candidate for the whole run and never creates the Lease", async () => {
    const w = world();
    const log: Log = { entries: [] };
    const a = coordinated(w, "a", log);
    await w.clock.advance(60_000);
    assert.equal(record(w), undefined, "nobody created the Lease");
    assert.deepEqual(w.ops("a").filter((op) => op !== "get(NotFound)"), []);
    assert.deepEqual(log.entries, ["0 register a"]);
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
    assert.deepEqual(log.entries.slice(1), ["60000 withdraw a"]);
    assert.equal(when(a, "started"), undefined);
  });

  it("leads the term the coordinator assigns: a new term (acquireTime, one more transition), its own leaseDuration, the strategy kept", async () => {
    const w = world();
    const a = coordinated(w, "a");
    const b = coordinated(w, "b");
    await w.clock.advance(1_000);
    assign(w, "a");
    await w.clock.advance(100);
    assert.ok(when(a, "started") !== undefined, "started at once, by the watch");
    const written = record(w);
    assert.equal(written?.holderIdentity, "a");
    assert.equal(written?.leaseDurationSeconds, 15);
    assert.equal(written?.leaseTransitions, 1);
    assert.notEqual(written?.acquireTime, null);
    assert.equal(written?.strategy, STRATEGY);
    await w.clock.advance(60_000);
    assert.equal(record(w)?.acquireTime, written?.acquireTime, "renewals keep the term");
    assert.equal(record(w)?.strategy, STRATEGY);
    assert.equal(when(b, "started"), undefined);
    assert.equal(b.elector.leader(), "a");
  });

  it("never takes over an expired Lease, nor a released one: the coordinator reassigns those", async () => {
    const w = world();
    w.store.write("foo", "bar", { record: { holderIdentity: "x", leaseDurationSeconds: 15, acquireTime: formatMicroTime(0), renewTime: formatMicroTime(0), strategy: STRATEGY } });
    const a = coordinated(w, "a");
    await w.clock.advance(60_000);
    assert.equal(record(w)?.holderIdentity, "x", "expired long ago, still not taken");
    w.store.write("foo", "bar", { record: { holderIdentity: "", leaseDurationSeconds: 1 } });
    await w.clock.advance(60_000);
    assert.equal(record(w)?.holderIdentity, "");
    assert.deepEqual(w.ops("a").filter((op) => op !== "get"), [], "it only ever read");
    assert.equal(when(a, "started"), undefined);
  });

  it("does not start a term the coordinator has already asked it to leave", async () => {
    const w = world();
    const a = coordinated(w, "a");
    await w.clock.advance(1_000);
    w.store.write("foo", "bar", { record: { holderIdentity: "a", leaseDurationSeconds: 5, acquireTime: null, renewTime: formatMicroTime(w.clock.wall()), strategy: STRATEGY, preferredHolder: "b" } });
    await w.clock.advance(30_000);
    assert.equal(when(a, "started"), undefined);
  });

  it("yields when preferredHolder names another: the work's signal aborts, then (once it settled) the Lease is released with its strategy", async () => {
    const w = world({ rejoin: true });
    const a = coordinated(w, "a");
    await w.clock.advance(1_000);
    assign(w, "a");
    await w.clock.advance(3_000);
    const term = record(w);
    w.store.write("foo", "bar", { record: { preferredHolder: "b" } });
    await w.clock.advance(10);
    assert.ok(a.signal?.aborted);
    const loss = (a.signal?.reason as LeadershipLostError).loss;
    assert.deepEqual(loss, { _tag: "yield", holder: "b" });
    const released = record(w);
    assert.equal(released?.holderIdentity, "", "released without releaseOnCancel: a yield is a release");
    assert.equal(released?.strategy, STRATEGY);
    assert.equal(released?.preferredHolder, "");
    assert.equal(released?.leaseTransitions, term?.leaseTransitions);
    // With rejoin it is a candidate again, and leads again when the coordinator says so.
    assign(w, "a");
    await w.clock.advance(100);
    assert.equal(a.terms.length, 2);
    assert.equal(a.terms[1]?.transitions, (term?.leaseTransitions ?? 0) + 1);
  });

  it("yielding, waits for the work before releasing; work that outlives renewDeadline leaves the Lease to expire", async () => {
    const w = world();
    let finish: () => void = () => {};
    const a = coordinated(w, "a", { entries: [] }, { onStartedLeading: () => new Promise<void>((resolve) => (finish = resolve)) });
    await w.clock.advance(1_000);
    assign(w, "a");
    await w.clock.advance(1_000);
    w.store.write("foo", "bar", { record: { preferredHolder: "b" } });
    await w.clock.advance(5_000);
    assert.equal(record(w)?.holderIdentity, "a", "no release while the work runs");
    await w.clock.advance(6_000);
    finish();
    await w.clock.advance(1_000);
    assert.equal(record(w)?.holderIdentity, "a", "too late to release: it expires");
    assert.equal(a.outcome, "resolved");
  });

  it("stopping, withdraws its candidate before it releases the Lease (or the coordinator could hand it straight back)", async () => {
    const w = world({ releaseOnCancel: true });
    const log: Log = { entries: [] };
    const a = coordinated(w, "a", log);
    await w.clock.advance(1_000);
    assign(w, "a");
    await w.clock.advance(1_000);
    const released = new Promise<number>((resolve) => {
      const check = (): void => (record(w)?.holderIdentity === "" ? resolve(w.clock.now()) : void setTimeout(check, 0));
      check();
    });
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(record(w)?.holderIdentity, "");
    assert.deepEqual(log.entries.map((e) => e.split(" ").slice(1).join(" ")), ["register a", "withdraw a"]);
    assert.ok(w.store.operations.at(-1)?.op === "update", "the release was the last write, after the withdrawal");
    void released;
  });
});

describe("strategy and preferredHolder in the records tenure writes, uncoordinated", () => {
  it("a renewal keeps both; a take-over keeps the strategy and drops the preference; a release keeps the strategy", async () => {
    const w = world({ releaseOnCancel: true });
    const a = w.candidate("a");
    await w.clock.advance(100);
    w.store.write("foo", "bar", { record: { strategy: STRATEGY, preferredHolder: "b" } });
    await w.clock.advance(5_000);
    assert.deepEqual([record(w)?.holderIdentity, record(w)?.strategy, record(w)?.preferredHolder], ["a", STRATEGY, "b"], "renewed, both kept");
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
    assert.deepEqual([record(w)?.holderIdentity, record(w)?.strategy], ["", STRATEGY]);
    w.store.write("foo", "bar", { record: { holderIdentity: "x", preferredHolder: "b", leaseDurationSeconds: 15 } });
    const c = w.candidate("c");
    await w.clock.advance(20_000);
    assert.ok(when(c, "started") !== undefined);
    assert.deepEqual([record(w)?.holderIdentity, record(w)?.strategy, record(w)?.preferredHolder], ["c", STRATEGY, ""]);
  });
});

describe("leadership events", () => {
  const eventLock = (w: World, id: string, written: string[], fail = false): Lock => ({
    ...memoryLock(w.store, { namespace: "foo", name: "bar", client: id }),
    recordEvent: async (message: string, version: LockVersion) => {
      written.push(`${message} @${(version as { resourceVersion: string }).resourceVersion}`);
      if (fail) throw Object.assign(new Error("events is forbidden"), { name: "LockError", reason: "Forbidden" });
    },
  });

  it("'<id> became leader' on the object it wrote; '<id> stopped leading' on the object after the release", async () => {
    const w = world({ releaseOnCancel: true });
    const written: string[] = [];
    const a = w.candidate("a", { lock: eventLock(w, "a", written) });
    await w.clock.advance(100);
    const acquired = w.store.read("foo", "bar")?.resourceVersion;
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
    const released = w.store.read("foo", "bar")?.resourceVersion;
    assert.deepEqual(written, [`a became leader @${acquired}`, `a stopped leading @${released}`]);
  });

  it("none for a candidate that never led", async () => {
    const w = world();
    w.candidate("a");
    const written: string[] = [];
    const b = w.candidate("b", { lock: eventLock(w, "b", written) });
    await w.clock.advance(10_000);
    b.controller.abort();
    await w.clock.until(() => b.outcome !== undefined);
    assert.deepEqual(written, []);
  });

  it("a failing write reaches onError once per event and changes nothing in the election", async () => {
    const w = world({ releaseOnCancel: true });
    const written: string[] = [];
    const errors: string[] = [];
    const a = w.candidate("a", { lock: eventLock(w, "a", written, true), onError: (e) => void errors.push(`${e.reason}: ${e.message}`) });
    await w.clock.advance(30_000);
    assert.ok(a.elector.isLeader());
    assert.deepEqual(errors, ["Forbidden: events is forbidden"]);
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(a.outcome, "resolved");
    assert.equal(errors.length, 2);
    assert.equal(record(w)?.holderIdentity, "", "released all the same");
  });
});
