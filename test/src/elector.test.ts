/**
 * The driver with a virtual clock and the memory lock: client-go's full-Run tests (fast path F1-F2,
 * release on cancellation R4-R5, health checks a-e), and tenure's own guarantees.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createElector, healthzAdaptor, LeadershipLostError } from "../../src/index.ts";
import { type Fault, MemoryLeaseStore, memoryLock } from "../../adapters/memory.ts";
import { VirtualClock } from "../../adapters/virtual-clock.ts";
import { type Candidate, when, world } from "../support/candidates.ts";
import { countListeners } from "../support/listeners.ts";

// client-go's TestFastPathLeaderElection and testReleaseOnCancellation use LD 15 s, RD 2 s, RP 1 s.
const upstream = { leaseDuration: 15_000, renewDeadline: 2_000, retryPeriod: 1_000, watch: false } as const;

/** Counts updates and lets a test act on the n-th one. */
const onUpdate = (candidate: Candidate, act: (n: number) => Fault | undefined): void => {
  let updates = 0;
  candidate.lock.inject((op) => (op === "update" ? act(++updates) : undefined));
};

describe("fast path (client-go TestFastPathLeaderElection)", () => {
  it("F1 renews without reading once the lock is acquired", async () => {
    const w = world(upstream);
    const baz = w.candidate("baz");
    onUpdate(baz, (n) => {
      if (n === 2) queueMicrotask(() => baz.controller.abort());
      return undefined;
    });
    await w.clock.until(() => baz.outcome !== undefined);
    assert.deepEqual(w.ops("baz"), ["get(NotFound)", "create", "update", "update"]);
  });

  it("F2 falls back to the slow path after a 409, within the same attempt", async () => {
    const w = world(upstream);
    const baz = w.candidate("baz");
    onUpdate(baz, (n) => {
      if (n === 4) queueMicrotask(() => baz.controller.abort());
      return n === 2 ? { error: "Conflict" } : undefined;
    });
    await w.clock.until(() => baz.outcome !== undefined);
    assert.deepEqual(w.ops("baz"), ["get(NotFound)", "create", "update", "update(Conflict)", "get", "update", "update"]);
    assert.equal(baz.elector.metrics().slowpathTotal, 1, "leader_election_slowpath_total");
  });
});

describe("release on cancellation (client-go testReleaseOnCancellation)", () => {
  it("R4 releases after the renew in flight is cancelled", async () => {
    const w = world({ ...upstream, releaseOnCancel: true });
    const baz = w.candidate("baz");
    onUpdate(baz, (n) => {
      if (n === 4) {
        setTimeout0(w, () => baz.controller.abort());
        return { hang: true };
      }
      return n % 2 === 1 ? { error: "Timeout" } : undefined;
    });
    await w.clock.until(() => baz.outcome !== undefined);
    const ops = w.ops("baz");
    assert.deepEqual(ops.slice(0, 6), ["get(NotFound)", "create", "update(Timeout)", "get", "update", "update(Timeout)"]);
    assert.equal(w.store.read("foo", "bar")?.record.holderIdentity, "", "released");
    assert.deepEqual(baz.events.filter(([, e]) => e === "started" || e === "stopped").map(([, e]) => e), ["started", "stopped"]);
  });

  it("R5 releases after a cancelled get", async () => {
    const w = world({ ...upstream, releaseOnCancel: true });
    const baz = w.candidate("baz");
    let gets = 0;
    baz.lock.inject((op) => {
      if (op === "get" && ++gets === 3) {
        setTimeout0(w, () => baz.controller.abort());
        return { hang: true };
      }
      return undefined;
    });
    onUpdate(baz, (n) => (n % 2 === 1 ? { error: "Timeout" } : undefined));
    await w.clock.until(() => baz.outcome !== undefined);
    assert.equal(w.store.read("foo", "bar")?.record.holderIdentity, "", "released");
    assert.ok(w.ops("baz").lastIndexOf("update") > w.ops("baz").indexOf("get(Timeout)"), "a release update after the cancelled get");
  });
});

/** Runs `fn` at the current virtual time, after the current turn. */
const setTimeout0 = (w: ReturnType<typeof world>, fn: () => void): void => void w.clock.setTimer(w.clock.now(), fn);

describe("health check (client-go TestLeaderElectionHealthChecker), LD 1 min, tolerance 20 s", () => {
  const timings = { leaseDuration: 60_000, renewDeadline: 10_000, retryPeriod: 2_000 };
  const leaderAndFollower = async () => {
    const w = world(timings);
    const self = w.candidate("self");
    await w.clock.advance(100);
    const other = w.candidate("other");
    await w.clock.advance(5_000);
    assert.ok(self.elector.isLeader());
    return { w, self, other };
  };

  it("(a) no elector set yet: healthy", () => {
    assert.equal(healthzAdaptor(20_000).check(), undefined);
  });

  it("(b) a leader that renewed nothing for an hour (wedged) fails", async () => {
    const { w, self } = await leaderAndFollower();
    w.clock.jump(3_600_000); // the event loop was blocked: no timer ran
    assert.equal(self.elector.check(20_000)?.message, "failed election to renew leadership on lease foo/bar");
    const adaptor = healthzAdaptor(20_000);
    adaptor.setElector(self.elector);
    assert.equal(adaptor.check()?.message, "failed election to renew leadership on lease foo/bar");
  });

  it("(c) a follower is healthy an hour later", async () => {
    const { w, other } = await leaderAndFollower();
    w.clock.jump(3_600_000);
    assert.equal(other.elector.check(20_000), undefined);
  });

  it("(d) a leader within its lease is healthy", async () => {
    const { self } = await leaderAndFollower();
    assert.equal(self.elector.check(20_000), undefined);
  });

  it("(e) a leader 1 min 1 s after its last renew is inside the 20 s tolerance", async () => {
    const { w, self } = await leaderAndFollower();
    const since = self.elector.metrics().sinceLastWrite ?? 0;
    w.clock.jump(61_000 - since);
    assert.equal(self.elector.check(20_000), undefined);
    w.clock.jump(20_000);
    assert.ok(self.elector.check(20_000) instanceof Error, "and fails just past it");
  });
});

describe("callbacks and lifecycle", () => {
  it("onStoppedLeading is always called, even if we never led (client-go)", async () => {
    const w = world();
    const leader = w.candidate("a");
    await w.clock.advance(10);
    const follower = w.candidate("b");
    await w.clock.advance(5_000);
    follower.controller.abort();
    await w.clock.until(() => follower.outcome !== undefined);
    assert.equal(follower.outcome, "resolved");
    assert.deepEqual(follower.events.map(([, e]) => e), ["leader a", "stopped"]);
    assert.ok(leader.elector.isLeader());
  });

  it("run is one-shot", async () => {
    const w = world();
    const a = w.candidate("a");
    await assert.rejects(a.elector.run(), /only once/);
  });

  it("a throwing onStartedLeading stops leading, releases, and run rejects with the cause", async () => {
    const w = world({ releaseOnCancel: true });
    const a = w.candidate("a", { onStartedLeading: () => Promise.reject(new Error("work failed")) });
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(a.outcome, "work failed");
    assert.equal(w.store.read("foo", "bar")?.record.holderIdentity, "", "released");
  });

  it("a throwing onNewLeader stops the elector and run rejects with the cause", async () => {
    const w = world();
    const a = w.candidate("a", { onNewLeader: () => { throw new Error("observer failed"); } });
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(a.outcome, "observer failed");
  });

  it("a throwing onStoppedLeading makes run reject", async () => {
    const w = world();
    const a = w.candidate("a", { onStoppedLeading: () => { throw new Error("cleanup failed"); } });
    await w.clock.advance(100);
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(a.outcome, "cleanup failed");
  });

  it("an already aborted signal ends the run at once, calling onStoppedLeading", async () => {
    const w = world();
    const a = w.candidate("a", {}, {});
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(a.outcome, "resolved");
    assert.deepEqual(a.events.map(([, e]) => e), ["stopped"]);
  });

  it("many electors on one signal add one listener to it, and all stop when it aborts", async () => {
    const clock = new VirtualClock();
    const store = new MemoryLeaseStore({ clock });
    const shutdown = new AbortController();
    const listeners = countListeners(shutdown.signal);
    const stopped: string[] = [];
    const runs = Array.from({ length: 12 }, (_, i) =>
      createElector({
        lock: memoryLock(store, { namespace: "ns", name: `lease-${i}` }),
        identity: `pod-${i}`,
        clock,
        onStartedLeading: () => {},
        onStoppedLeading: () => void stopped.push(`pod-${i}`),
      }).run(shutdown.signal));
    await clock.advance(5_000);
    assert.equal(listeners.added, 1, "Node warns past ten listeners on one signal");
    shutdown.abort();
    await clock.advance(0);
    await Promise.all(runs);
    assert.equal(stopped.length, 12);
  });

  it("hands the leader a fencing term that grows with each change of holder", async () => {
    const w = world({ releaseOnCancel: true });
    const a = w.candidate("a");
    await w.clock.advance(100);
    const b = w.candidate("b");
    await w.clock.advance(5_000);
    a.controller.abort();
    await w.clock.until(() => b.elector.isLeader());
    assert.deepEqual(a.terms.map((t) => t.transitions), [0]);
    assert.deepEqual(b.terms.map((t) => [t.identity, t.transitions]), [["b", 1]]);
    assert.deepEqual(b.elector.term, b.terms[0]);
    assert.equal(a.elector.term, undefined);
  });
});

describe("leadership ends the moment it may be lost", () => {
  it("a leader whose renewals fail steps down at renewDeadline after its last good renew began", async () => {
    const w = world();
    const a = w.candidate("a");
    await w.clock.advance(4_100); // acquired at 0, renewed at 2 000 and 4 000
    const lastRenewStart = 4_000;
    a.lock.inject({ error: "ServerError" });
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(when(a, "signal aborted"), lastRenewStart + 10_000);
    assert.ok(a.signal?.reason instanceof LeadershipLostError);
  });

  it("only renews that client-go's followers can see (a new second of renewTime) extend the deadline", async () => {
    // client-go compares records to the second. Renews wait for the next second of the wall clock,
    // but a monotonic clock running twice as fast lands the one at 1 001 ms (its time) in second 0.
    const w = world({ leaseDuration: 3_000, renewDeadline: 1_500, retryPeriod: 400 });
    const a = w.candidate("a", { clock: w.clock.derive(2) });
    await w.clock.advance(600); // acquired at 0, renewed at 1 001 ms (its time; wall clock 500 ms)
    assert.deepEqual(w.ops("a"), ["get(NotFound)", "create", "update"]);
    a.lock.inject({ hang: true });
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(Math.round(when(a, "signal aborted") as number), (0 + 1_500) / 2, "from the acquisition, not from the renew at 1 001 ms");
  });

  it("isLeader() is false past the deadline even when no timer could run (blocked event loop)", async () => {
    const w = world();
    const a = w.candidate("a");
    await w.clock.advance(100);
    assert.equal(a.elector.isLeader(), true);
    w.clock.jump(10_000);
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.elector.term, undefined);
  });

  it("a leader steps down as soon as the watch shows another holder", async () => {
    const w = world();
    const a = w.candidate("a");
    await w.clock.advance(100);
    w.store.write("foo", "bar", { record: { holderIdentity: "intruder" } });
    await w.clock.advance(0);
    assert.equal(when(a, "signal aborted"), 100);
    assert.equal(a.elector.isLeader(), false);
    assert.ok(a.events.some(([, e]) => e === "leader intruder"));
  });

  it("labels written by others neither end leadership nor keep a dead leader alive", async () => {
    const w = world();
    const a = w.candidate("a");
    await w.clock.advance(100);
    const b = w.candidate("b");
    await w.clock.advance(3_000);
    w.store.write("foo", "bar", { labels: { team: "x" } });
    await w.clock.advance(5_000);
    assert.ok(a.elector.isLeader(), "a keeps leading across a conflict on its fast path");
    assert.equal(w.store.read("foo", "bar")?.labels["team"], "x", "the label is preserved");
    // a crashes: it stops renewing without releasing. Labels keep changing the object, not the record.
    const crashedAt = w.clock.now();
    a.lock.inject({ hang: true });
    const labeller = setInterval0(w, 1_000, () => w.store.write("foo", "bar", { labels: { beat: String(w.clock.now()) } }));
    await w.clock.until(() => b.elector.isLeader(), 60_000);
    labeller();
    assert.ok(w.clock.now() - crashedAt < 15_000 + 2_000 + 500, "b took over about leaseDuration after a's last renew");
  });
});

/** Calls `fn` every `ms` of virtual time until the returned function is called. */
const setInterval0 = (w: ReturnType<typeof world>, ms: number, fn: () => void): (() => void) => {
  let cancel = (): void => {};
  const tick = (): void => {
    fn();
    cancel = w.clock.setTimer(w.clock.now() + ms, tick);
  };
  cancel = w.clock.setTimer(w.clock.now() + ms, tick);
  return () => cancel();
};

describe("followers", () => {
  it("learn the winner at once after losing the race to create the Lease", async () => {
    const w = world();
    const [a, b] = [w.candidate("a"), w.candidate("b")];
    await w.clock.advance(0);
    assert.ok(a.elector.isLeader());
    assert.deepEqual(w.ops("b"), ["get(NotFound)", "create(AlreadyExists)", "get"]);
    assert.deepEqual(b.events, [[0, "leader a"]]);
    assert.ok(w.store.operations.some((o) => o.client === "b" && o.op === "watch"), "and watches from then on");
  });


  it("take a released lease as soon as the watch shows it", async () => {
    const w = world({ releaseOnCancel: true });
    const a = w.candidate("a");
    await w.clock.advance(100);
    const b = w.candidate("b");
    await w.clock.advance(7_000);
    a.controller.abort();
    const releasedAt = w.clock.now();
    const before = w.ops("b").length;
    await w.clock.until(() => b.elector.isLeader());
    assert.equal(when(b, "started"), releasedAt, "no virtual time passed: no polling delay");
    assert.deepEqual(w.ops("b").slice(before), ["update"], "taken with the watched object: no read first");
  });

  it("take over a crashed leader at the exact local expiry, never before", async () => {
    const w = world();
    const a = w.candidate("a");
    await w.clock.advance(100);
    const b = w.candidate("b");
    await w.clock.advance(5_000);
    a.lock.inject({ hang: true }); // a crashes: no more writes reach the server
    const lastChange = 4_000; // a's last renew
    await w.clock.until(() => b.elector.isLeader());
    assert.equal(when(b, "started"), lastChange + 15_000);
  });

  it("poll with jitter when the lock cannot watch, and still take over at expiry", async () => {
    const w = world();
    const a = w.candidate("a", {}, { watch: false });
    await w.clock.advance(100);
    const b = w.candidate("b", {}, { watch: false });
    await w.clock.advance(8_000);
    const gets = w.ops("b").filter((o) => o === "get").length;
    assert.ok(gets >= 2, `b polls (${gets} gets)`);
    a.lock.inject({ hang: true });
    const crashed = w.clock.now();
    await w.clock.until(() => b.elector.isLeader());
    assert.ok(w.clock.now() - crashed <= 15_000 + 2_000, "within leaseDuration of a's last renew");
  });

  it("an idle follower with a watch sends no requests", async () => {
    const w = world();
    w.candidate("a");
    await w.clock.advance(100);
    w.candidate("b");
    await w.clock.advance(10_000);
    const before = w.ops("b").length;
    await w.clock.advance(120_000);
    assert.equal(w.ops("b").length, before);
  });

  it("do not re-create a deleted Lease until the last holder's term has lapsed", async () => {
    const w = world();
    const a = w.candidate("a");
    await w.clock.advance(100);
    const b = w.candidate("b");
    await w.clock.advance(5_000);
    a.lock.inject({ hang: true }); // a is gone, and then an admin deletes the Lease
    w.store.delete("foo", "bar");
    const deletedAt = w.clock.now();
    await w.clock.until(() => b.elector.isLeader());
    assert.ok(w.clock.now() >= 4_000 + 15_000, "not before a's term could have lapsed");
    assert.ok(w.clock.now() < deletedAt + 15_000, "but as soon as it did");
    assert.equal(w.store.read("foo", "bar")?.record.leaseTransitions, 1, "transitions continue across the deletion");
  });

  it("a leader re-creates its deleted Lease and keeps leading", async () => {
    const w = world();
    const a = w.candidate("a");
    await w.clock.advance(3_000);
    w.store.delete("foo", "bar");
    await w.clock.advance(2_000);
    assert.ok(a.elector.isLeader());
    assert.equal(w.store.read("foo", "bar")?.record.holderIdentity, "a");
    assert.ok(a.events.filter(([, e]) => e === "started").length === 1);
  });
});

describe("requests", () => {
  it("a hung request is cut off by the per-request timeout", async () => {
    const w = world();
    const a = w.candidate("a", { requestTimeout: 1_500 }, {}, [{ ops: ["get"], hang: true, times: 1 }]);
    await w.clock.advance(1_499);
    assert.deepEqual(w.ops("a"), []);
    await w.clock.until(() => a.elector.isLeader());
    assert.deepEqual(w.ops("a"), ["get(NotFound)", "create"]);
    assert.equal(w.clock.now(), 1_500 + 2_000 * (1 + 0.5 * 1.2), "retried after the timeout and a jittered period");
  });

  it("a leader's requests never outlive its authority", async () => {
    const w = world();
    const a = w.candidate("a");
    await w.clock.advance(100);
    a.lock.inject({ hang: true });
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(when(a, "signal aborted"), 10_000);
    assert.equal(when(a, "stopped"), 10_000);
  });

  it("a leader arms one timer per renew: the one armed when a renew is sent also wakes the next", async () => {
    const clock = new VirtualClock();
    let armed = 0;
    const counting = { now: () => clock.now(), wall: () => clock.wall(), setTimer: (at: number, fn: () => void) => (armed++, clock.setTimer(at, fn)) };
    const base = memoryLock(new MemoryLeaseStore({ clock }), { namespace: "foo", name: "bar" });
    let renews = 0;
    const lock = { ...base, update: (...args: Parameters<typeof base.update>) => (renews++, base.update(...args)) };
    const elector = createElector({ lock, identity: "a", clock: counting, onStartedLeading: () => {}, onStoppedLeading: () => {} });
    const controller = new AbortController();
    const done = elector.run(controller.signal);
    await clock.until(() => elector.isLeader());
    await clock.advance(2_000);
    [armed, renews] = [0, 0];
    await clock.advance(20_000);
    assert.ok(elector.isLeader());
    assert.equal(renews, 10);
    assert.equal(armed, renews);
    controller.abort();
    await clock.until(() => false, 1_000);
    await done;
  });

  it("honours Retry-After from a 429", async () => {
    const w = world();
    const a = w.candidate("a", {}, {}, [{ ops: ["get"], error: "TooManyRequests", retryAfter: 30_000, times: 1 }]);
    await w.clock.until(() => a.elector.isLeader());
    assert.equal(w.clock.now(), 30_000);
  });
});

describe("release waits for the work", () => {
  it("releases only after the leader's work settles", async () => {
    const w = world({ releaseOnCancel: true });
    const a = w.candidate("a", {
      onStartedLeading: (signal) =>
        new Promise<void>((resolve) => signal.addEventListener("abort", () => void w.clock.setTimer(w.clock.now() + 3_000, resolve))),
    });
    await w.clock.advance(100);
    a.controller.abort();
    await w.clock.advance(2_999);
    assert.equal(w.store.read("foo", "bar")?.record.holderIdentity, "a", "not while the work runs");
    await w.clock.advance(1);
    assert.equal(w.store.read("foo", "bar")?.record.holderIdentity, "");
  });

  it("does not release when the work outlives renewDeadline; the lease expires instead", async () => {
    const w = world({ releaseOnCancel: true });
    const a = w.candidate("a", { onStartedLeading: () => new Promise<void>(() => {}) });
    await w.clock.advance(100);
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(w.clock.now(), 100 + 10_000);
    assert.equal(w.store.read("foo", "bar")?.record.holderIdentity, "a");
  });
});
