/**
 * A renew whose answer never comes (a response cut off midway, or one that never finishes) while
 * the server did commit it: the chaos suite's truncated and hanging responses. The leader's watch
 * brings the write's echo; that confirms the renew as its answer would, so the leader holds the
 * lease instead of stepping down at its deadline while the Lease shows it renewing. And a
 * candidate's take-over answered likewise: the record it wrote is its own. Pure protocol, answers
 * held by hand, 3 s / 2 s / 0.5 s.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Outcome } from "../../src/protocol/attempt.ts";
import { leading } from "../../src/protocol.ts";
import { observedOf } from "../../adapters/memory/store.ts";
import type { MemoryVersion } from "../../adapters/memory.ts";
import { emptyRecord } from "../../src/record.ts";
import { NAME, NAMESPACE, Scripted, settingsOf } from "../support/scripted.ts";

const settings = settingsOf({ leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500, requestTimeout: 1_000, watch: true });
const lost: Outcome = { _tag: "error", reason: "Network", message: "the connection broke while reading the answer" };

/** A leader since mono 0 (wall: a whole second) whose renew at 1001 ms the server has committed; its answer is held. */
const renewing = () => {
  const script = new Scripted(settings);
  script.send({ _tag: "Start" }, 0);
  assert.equal(script.state.phase._tag, "leader");
  assert.equal((script.state.phase as { authorityUntil: number }).authorityUntil, 2_000);
  script.hold = true;
  script.send({ _tag: "Wake" }, 1_001);
  const renew = script.pending.shift()!;
  assert.equal(renew.request.op, "update");
  const committed = script.serve(renew.request);
  assert.ok(committed._tag === "ok");
  return { script, renew, echo: committed.snapshot };
};

const authority = (script: Scripted): number => (script.state.phase as { authorityUntil: number }).authorityUntil;

describe("a renew confirmed by its echo when its answer is lost (issue #9, chaos: truncated and hanging responses)", () => {
  it("echo first: the renew counts from its write, and its late failure changes nothing", () => {
    const { script, renew, echo } = renewing();
    script.send({ _tag: "Changed", snapshot: echo }, 1_020);
    assert.equal(script.state.phase._tag, "leader");
    assert.equal(authority(script), 1_001 + 2_000);
    // Not cancelled: on HTTP/1.1 that closes the connection, and the answer may be on its way.
    assert.deepEqual(script.emitted("Cancel"), []);
    script.send({ _tag: "Result", id: renew.id, outcome: lost }, 1_900);
    assert.equal(authority(script), 3_001);
    assert.ok(leading(script.state, 2_999), "still leading past the old deadline (2000)");
  });

  it("answer lost first, echo after: the same", () => {
    const { script, renew, echo } = renewing();
    script.send({ _tag: "Result", id: renew.id, outcome: lost }, 1_030);
    // A failed fast path reads at once, in the same attempt; that answer is lost too.
    const read = script.pending.shift()!;
    assert.equal(read.request.op, "get");
    script.send({ _tag: "Result", id: read.id, outcome: lost }, 1_035);
    assert.equal(authority(script), 2_000, "not confirmed yet");
    script.send({ _tag: "Changed", snapshot: echo }, 1_040);
    assert.equal(authority(script), 3_001);
  });

  it("the echo brings the version to write against: the next renew needs no read", () => {
    const { script, renew, echo } = renewing();
    script.send({ _tag: "Changed", snapshot: echo }, 1_020);
    script.send({ _tag: "Result", id: renew.id, outcome: lost }, 1_900);
    script.hold = false;
    const before = script.ops.length;
    script.send({ _tag: "Wake" }, 2_001);
    assert.deepEqual(script.ops.slice(before), ["update"], "one fast-path write, no conflict, no read");
    assert.equal(authority(script), 2_001 + 2_000);
  });

  it("echo while the same attempt's read is in flight: the renew is confirmed, the read's answer ignored", () => {
    const { script, renew, echo } = renewing();
    script.send({ _tag: "Result", id: renew.id, outcome: { _tag: "error", reason: "Timeout", message: "no answer" } }, 1_500);
    // A renew's failed fast path reads at once, in the same attempt.
    const read = script.pending.shift()!;
    assert.equal(read.request.op, "get");
    script.send({ _tag: "Changed", snapshot: echo }, 1_510);
    assert.equal(authority(script), 3_001);
    script.send({ _tag: "Result", id: read.id, outcome: lost }, 1_600);
    assert.equal(authority(script), 3_001);
    assert.equal(script.state.phase._tag, "leader");
    assert.equal((script.state.phase as { attempt: unknown }).attempt, undefined, "no attempt under way until the next renew");
  });

  it("an echo of an older write of ours confirms nothing", () => {
    const script = new Scripted(settings);
    script.send({ _tag: "Start" }, 0);
    const first = observedOf(script.store.get(NAMESPACE, NAME));
    script.hold = true;
    script.send({ _tag: "Wake" }, 1_001);
    const renew = script.pending.shift()!;
    script.send({ _tag: "Changed", snapshot: first }, 1_020);
    script.send({ _tag: "Result", id: renew.id, outcome: lost }, 1_100);
    assert.equal(authority(script), 2_000);
    assert.ok(!leading(script.state, 2_000));
  });

  it("an echo after the deadline does not bring leadership back", () => {
    const { script, renew, echo } = renewing();
    script.send({ _tag: "Result", id: renew.id, outcome: lost }, 1_030);
    script.send({ _tag: "Result", id: script.pending.shift()!.id, outcome: lost }, 1_035);
    script.send({ _tag: "Wake" }, 2_000);
    assert.notEqual(script.state.phase._tag, "leader");
    script.send({ _tag: "Changed", snapshot: echo }, 2_010);
    assert.notEqual(script.state.phase._tag, "leader");
    assert.equal(script.emitted("StartLeading").length, 1);
  });
});

describe("a take-over whose answer is lost while the server applied it", () => {
  const other = { ...emptyRecord, holderIdentity: "other", leaseDurationSeconds: 3, acquireTime: "2026-11-22T23:59:59.000000Z", renewTime: "2026-11-22T23:59:59.000000Z", leaseTransitions: 4 };

  /** A candidate that found `other`'s lease at 0, tried to take it at its expiry, and got no answer although the write was applied. */
  const takenUnanswered = (watch: boolean) => {
    const script = new Scripted({ ...settings, watch });
    script.store.create(NAMESPACE, NAME, other, {});
    script.send({ _tag: "Start" }, 0);
    assert.equal(script.state.phase._tag, "candidate");
    script.hold = true;
    script.send({ _tag: "Wake" }, 3_000);
    script.answer(script.pending.shift()!); // the read: expired
    const takeover = script.pending.shift()!;
    assert.equal(takeover.request.op, "update");
    const applied = script.serve(takeover.request);
    assert.ok(applied._tag === "ok");
    assert.equal(applied.snapshot.record.holderIdentity, settings.identity);
    return { script, takeover, applied: applied.snapshot };
  };

  it("the record read next is ours: it leads at the next try, a new term, not once that record expires", () => {
    const { script, takeover, applied } = takenUnanswered(false);
    script.send({ _tag: "Result", id: takeover.id, outcome: lost }, 3_100);
    assert.equal(script.state.phase._tag, "candidate");
    script.hold = false;
    script.send({ _tag: "Wake" }, (script.state.phase as { wakeAt: number }).wakeAt);
    assert.equal(script.state.phase._tag, "leader", "led at the next try");
    assert.ok(script.mono < 3_100 + settings.retryPeriod * 2.2, `at ${script.mono} ms`);
    const term = (script.state.phase as { term: { transitions: number; acquireTime: string } }).term;
    assert.equal(term.transitions, applied.record.leaseTransitions + 1, "a term of its own over the one it may have started");
    assert.notEqual(term.acquireTime, applied.record.acquireTime);
  });

  it("with a watch, its echo makes it try again at once", () => {
    const { script, takeover, applied } = takenUnanswered(true);
    script.send({ _tag: "Changed", snapshot: applied }, 3_050);
    script.hold = false;
    script.send({ _tag: "Result", id: takeover.id, outcome: lost }, 3_100);
    assert.equal(script.state.phase._tag, "leader", "at the failure, without a retry period's wait");
    assert.equal(script.mono, 3_100);
  });

  it("a record of our identity with another acquireTime is still not ours", () => {
    const { script, takeover } = takenUnanswered(false);
    script.send({ _tag: "Result", id: takeover.id, outcome: lost }, 3_100);
    // Another process with our identity (a restart reusing the name) wrote over it meanwhile.
    const current = observedOf(script.store.get(NAMESPACE, NAME));
    script.store.update(NAMESPACE, NAME, { ...current.record, acquireTime: "2026-11-23T00:00:03.500000Z", renewTime: "2026-11-23T00:00:03.500000Z" }, current.version as MemoryVersion, {});
    script.hold = false;
    script.send({ _tag: "Wake" }, (script.state.phase as { wakeAt: number }).wakeAt);
    assert.equal(script.state.phase._tag, "candidate", "someone else's until it expires");
  });
});
