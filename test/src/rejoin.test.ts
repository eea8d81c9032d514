/**
 * `rejoin: true`: after leadership is lost for any reason but stopping, the elector campaigns
 * again, and may lead again with a fresh signal and a fresh term. One-shot per term: the next term
 * starts only once the last one's work has settled.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LeadershipLostError } from "../../src/index.ts";
import { when, world } from "../support/candidates.ts";

const started = (events: readonly (readonly [number, string])[]): number[] => events.filter(([, e]) => e === "started").map(([t]) => t);

describe("rejoin after loss", () => {
  it("is off by default: losing leadership ends the run, as client-go's", async () => {
    const w = world();
    const a = w.candidate("a");
    await w.clock.advance(100);
    const heal = a.lock.inject({ hang: true });
    await w.clock.until(() => a.outcome !== undefined);
    heal();
    assert.equal(a.outcome, "resolved");
    assert.equal(when(a, "stopped"), 10_000);
  });

  it("after renewDeadline passed, campaigns again and leads with a fresh signal and term once the server answers", async () => {
    const w = world({ rejoin: true });
    const a = w.candidate("a");
    await w.clock.advance(100);
    const first = a.signal;
    const heal = a.lock.inject({ hang: true }); // an API server blip longer than renewDeadline
    await w.clock.advance(11_000);
    assert.ok(first?.aborted, "the term ended at renewDeadline");
    assert.ok(first?.reason instanceof LeadershipLostError && first.reason.loss._tag === "renewDeadline");
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.elector.term, undefined);
    assert.equal(a.elector.metrics().masterStatus, 0);
    assert.equal(a.outcome, undefined, "run goes on");
    heal();
    await w.clock.until(() => a.elector.isLeader(), 30_000);
    assert.notEqual(a.signal, first, "a fresh signal");
    assert.equal(a.signal?.aborted, false);
    assert.deepEqual(a.terms.map((t) => t.transitions), [0, 1], "a fresh term: the lease it left is taken as a new one");
    assert.notEqual(a.terms[1]?.acquireTime, a.terms[0]?.acquireTime);
    assert.deepEqual(a.elector.term, a.terms[1]);
    assert.equal(a.elector.metrics().masterStatus, 1);
    assert.equal(a.elector.check(), undefined);
    assert.ok(!a.events.some(([, e]) => e === "stopped"), "onStoppedLeading runs only when run ends");
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(a.outcome, "resolved");
    assert.deepEqual(a.events.filter(([, e]) => e === "stopped").length, 1);
  });

  it("cut off for longer than leaseDuration: comes back as a follower, and leads again later", async () => {
    const w = world({ rejoin: true, releaseOnCancel: true });
    const a = w.candidate("a");
    await w.clock.advance(100);
    const b = w.candidate("b");
    await w.clock.advance(3_000);
    const heal = a.lock.inject({ hang: true });
    await w.clock.until(() => b.elector.isLeader(), 30_000);
    await w.clock.advance(5_000);
    heal();
    await w.clock.advance(10_000);
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.elector.leader(), "b");
    assert.equal(a.elector.term, undefined);
    assert.equal(a.elector.check(), undefined, "a follower is healthy");
    assert.equal(a.elector.metrics().observedHolder, "b");
    assert.equal(a.outcome, undefined);
    // b goes away gracefully: a takes over at once, in a third term.
    b.controller.abort();
    await w.clock.until(() => a.elector.isLeader(), 30_000);
    assert.deepEqual(a.terms.map((t) => t.transitions), [0, 2]);
    assert.deepEqual(a.events.filter(([, e]) => e.startsWith("leader ")).map(([, e]) => e), ["leader a", "leader b", "leader ", "leader a"]);
    assert.equal(started(a.events).length, 2);
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
  });

  it("the next term starts only after the last term's work has settled, however long it takes", async () => {
    const w = world({ rejoin: true });
    let settledAt: number | undefined;
    const a = w.candidate("a", {
      onStartedLeading: (signal, term) => {
        a.terms.push(term);
        a.events.push([w.clock.now(), "started"]);
        a.signal = signal;
        // Ignores its signal for 30 s (longer than renewDeadline).
        return new Promise<void>((resolve) => signal.addEventListener("abort", () => void w.clock.setTimer(w.clock.now() + 30_000, () => (settledAt = w.clock.now(), resolve()))));
      },
    });
    await w.clock.advance(100);
    const heal = a.lock.inject({ hang: true });
    await w.clock.advance(12_000);
    heal();
    await w.clock.until(() => started(a.events).length === 2, 120_000);
    assert.ok(settledAt !== undefined && started(a.events)[1]! >= settledAt, `second term at ${started(a.events)[1]}, work settled at ${settledAt}`);
    assert.equal(a.outcome, undefined);
  });

  it("stopping while stepping down ends the run instead of campaigning again", async () => {
    const w = world({ rejoin: true });
    const a = w.candidate("a", {
      onStartedLeading: (signal) => {
        a.events.push([w.clock.now(), "started"]);
        return new Promise<void>((resolve) => signal.addEventListener("abort", () => void w.clock.setTimer(w.clock.now() + 1_000, resolve)));
      },
    });
    await w.clock.advance(100);
    a.lock.inject({ hang: true });
    await w.clock.advance(10_000); // renewDeadline passes at 10 000: the work has 1 s to settle
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(a.outcome, "resolved");
    assert.equal(started(a.events).length, 1);
  });

  it("a failing leader's work ends the run even with rejoin", async () => {
    const w = world({ rejoin: true });
    const a = w.candidate("a", { onStartedLeading: () => Promise.reject(new Error("work failed")) });
    await w.clock.until(() => a.outcome !== undefined);
    assert.equal(a.outcome, "work failed");
  });

  it("a leader that sees another holder steps down and follows it, still in the run", async () => {
    const w = world({ rejoin: true });
    const a = w.candidate("a");
    await w.clock.advance(100);
    w.store.write("foo", "bar", { record: { holderIdentity: "intruder" } });
    await w.clock.advance(1_000);
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.outcome, undefined);
    assert.equal(a.elector.leader(), "intruder");
    // The intruder never renews: a takes over at its expiry (15 s after it was seen).
    await w.clock.until(() => a.elector.isLeader(), 60_000);
    assert.equal(started(a.events)[1], 100 + 15_000);
  });
});
