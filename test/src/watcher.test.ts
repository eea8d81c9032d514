/**
 * The watch keeper on the memory lock in virtual time: resuming, starting over after Expired,
 * backing off while failing, and falling back (and returning) when watch is forbidden.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Lock, Snapshot } from "../../src/lock.ts";
import { LockError } from "../../src/lock.ts";
import { emptyRecord } from "../../src/record.ts";
import { keepWatching, MAX_WATCH_BACKOFF } from "../../src/watcher.ts";
import { MemoryLeaseStore, memoryLock } from "../../adapters/memory.ts";
import { VirtualClock } from "../../adapters/virtual-clock.ts";
import { countListeners, type ListenerCount } from "../support/listeners.ts";

const setup = () => {
  const clock = new VirtualClock();
  const store = new MemoryLeaseStore({ clock, history: 5 });
  const lock = memoryLock(store, { namespace: "ns", name: "lock", client: "w" });
  const seen: (string | undefined)[] = [];
  const health: boolean[] = [];
  const failures: string[] = [];
  const write = (holder: string) => store.write("ns", "lock", { record: { ...emptyRecord, holderIdentity: holder, leaseDurationSeconds: 10 } });
  const start = (from: Snapshot["version"] | undefined) =>
    keepWatching({ watch: (lock as Required<Lock>).watch.bind(lock) }, from, clock, 1_000, {
      changed: (snapshot) => seen.push(snapshot?.record.holderIdentity),
      health: (active) => health.push(active),
      failed: (error) => failures.push((error as LockError).reason),
    });
  const watches = () => store.operations.filter((o) => o.op === "watch").map((o) => o.result);
  return { clock, store, lock, seen, health, failures, write, start, watches };
};

describe("keepWatching", () => {
  it("delivers changes after the given version, in order, and reports itself healthy", async () => {
    const t = setup();
    const first = t.write("a");
    const stop = t.start({ uid: first.uid, resourceVersion: first.resourceVersion });
    await t.clock.advance(0);
    t.write("b");
    t.write("c");
    t.store.delete("ns", "lock");
    await t.clock.advance(0);
    stop();
    assert.deepEqual(t.seen, ["b", "c", undefined]);
    assert.deepEqual(t.health, [true]);
  });

  it("resumes where it left off when the stream breaks, after a short pause", async () => {
    const t = setup();
    const first = t.write("a");
    const stop = t.start({ uid: first.uid, resourceVersion: first.resourceVersion });
    await t.clock.advance(0);
    t.write("b");
    await t.clock.advance(0);
    t.store.closeWatches(new LockError("Network", "reset"));
    t.write("c"); // while disconnected
    await t.clock.advance(999);
    assert.deepEqual(t.seen, ["b"]);
    await t.clock.advance(1);
    stop();
    assert.deepEqual(t.seen, ["b", "c"], "nothing lost, nothing repeated");
    assert.deepEqual(t.health, [true, false, true]);
    assert.deepEqual(t.failures, ["Network"]);
  });

  it("starts over from the current state when its version has expired (410)", async () => {
    const t = setup();
    const first = t.write("a");
    for (const holder of ["b", "c", "d", "e", "f", "g"]) t.write(holder); // beyond the history of 5
    const stop = t.start({ uid: first.uid, resourceVersion: first.resourceVersion });
    await t.clock.advance(0);
    stop();
    assert.deepEqual(t.seen, ["g"]);
    assert.deepEqual(t.watches(), ["Expired", "ok"]);
    assert.deepEqual(t.failures, [], "expiry is routine, not a failure");
  });

  it("backs off exponentially while watching fails, up to the maximum", async () => {
    const t = setup();
    t.lock.inject({ ops: ["watch"], error: "ServerError" });
    const stop = t.start(undefined);
    await t.clock.advance(20 * MAX_WATCH_BACKOFF);
    stop();
    const times = t.store.operations.length;
    assert.ok(times >= 10 && times < 30, `${times} attempts in 100 minutes`);
    assert.deepEqual(t.health, [], "never healthy, so followers poll");
  });

  it("when forbidden, reports unhealthy (followers poll) and tries again only after the maximum pause", async () => {
    const t = setup();
    const remove = t.lock.inject({ ops: ["watch"], error: "Forbidden" });
    const stop = t.start(undefined);
    await t.clock.advance(MAX_WATCH_BACKOFF - 1);
    assert.deepEqual(t.watches(), ["Forbidden"]);
    remove(); // someone fixed the Role
    t.write("a");
    await t.clock.advance(1);
    stop();
    assert.deepEqual(t.watches(), ["Forbidden", "ok"]);
    assert.deepEqual(t.seen, ["a"]);
    assert.deepEqual(t.health, [true]);
    assert.deepEqual(t.failures, ["Forbidden"]);
  });

  it("leaves no abort listeners behind on its signal, however often watches fail or end", async () => {
    const t = setup();
    // Every stream gets its own signal: count the listeners left on all of them.
    const counts: ListenerCount[] = [];
    const watch = (t.lock as Required<Lock>).watch.bind(t.lock);
    t.lock.inject({ ops: ["watch"], error: "ServerError", times: 12 });
    const stop = keepWatching({ watch: (from, signal) => (counts.push(countListeners(signal)), watch(from, signal)) }, undefined, t.clock, 1_000, {
      changed: () => {},
      health: () => {},
      failed: () => {},
    });
    await t.clock.advance(30 * MAX_WATCH_BACKOFF); // 12 failed watches, each followed by a pause
    for (let i = 0; i < 12; i++) {
      t.write(`h${i}`);
      await t.clock.advance(1_000);
      t.store.closeWatches(); // a stream the server ends
      await t.clock.advance(1_000);
    }
    assert.deepEqual(t.watches().map((r) => (r === "ok" ? "ok" : "failed")), [...Array(12).fill("failed"), ...Array(13).fill("ok")]);
    const live = counts.reduce((sum, c) => sum + c.live, 0);
    assert.equal(counts.length, 25);
    assert.ok(live <= 1, `${live} listeners still on the signals (at most the open watch's own)`);
    stop();
  });

  it("check() drops a stream that delivers nothing within a retry period, and resumes where it left off", async () => {
    const t = setup();
    const first = t.write("a");
    const remove = t.lock.inject({ ops: ["watch"], silent: true, times: 1 });
    const watching = t.start({ uid: first.uid, resourceVersion: first.resourceVersion });
    await t.clock.advance(0);
    t.write("b"); // never delivered: the stream is silent
    await t.clock.advance(5_000);
    assert.deepEqual(t.seen, []);
    remove();
    watching.check();
    watching.check(); // asked again meanwhile: still one check
    await t.clock.advance(999);
    assert.deepEqual(t.watches(), ["ok"], "not before the retry period");
    await t.clock.advance(1);
    watching();
    assert.deepEqual(t.seen, ["b"], "the change it missed, from where it left off");
    assert.deepEqual(t.health, [true, false, true], "healthy again once the new stream delivered");
    assert.deepEqual(t.failures, [], "a restart is not a failure");
    assert.deepEqual(t.watches(), ["ok", "ok"]);
  });

  it("after check() dropped a silent stream, its replacement counts as healthy only once it delivers (issue #9, chaos: silent watch)", async () => {
    const t = setup();
    const first = t.write("a");
    const remove = t.lock.inject({ ops: ["watch"], silent: true, times: 2 });
    const watching = t.start({ uid: first.uid, resourceVersion: first.resourceVersion });
    await t.clock.advance(0);
    t.write("b");
    watching.check();
    await t.clock.advance(1_000);
    assert.deepEqual(t.watches(), ["ok", "ok"], "replaced");
    assert.deepEqual(t.health, [true, false], "the replacement is open but silent too: followers keep polling");
    remove();
    watching.check();
    await t.clock.advance(1_000);
    watching();
    assert.deepEqual(t.seen, ["b"]);
    assert.deepEqual(t.health, [true, false, true]);
  });

  it("check() leaves a stream alone that delivers anything within a retry period", async () => {
    const t = setup();
    const first = t.write("a");
    const watching = t.start({ uid: first.uid, resourceVersion: first.resourceVersion });
    await t.clock.advance(0);
    watching.check(); // a read saw "b" a moment before the watch does
    await t.clock.advance(10);
    t.write("b");
    await t.clock.advance(5_000);
    watching();
    assert.deepEqual(t.watches(), ["ok"]);
    assert.deepEqual(t.health, [true]);
  });

  it("counts streams that end at once without events as failures (a proxy cutting them)", async () => {
    const t = setup();
    const stop = t.start(undefined);
    for (let i = 0; i < 4; i++) {
      await t.clock.advance(0);
      t.store.closeWatches();
      await t.clock.advance(0);
    }
    await t.clock.advance(60_000);
    stop();
    assert.ok(t.watches().length < 10, `${t.watches().length} reconnects, not a tight loop`);
    assert.equal(t.health.at(-1), true, "and it recovers once streams stay open");
  });
});
