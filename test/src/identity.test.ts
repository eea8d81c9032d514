/**
 * A record that names our identity but that this elector never wrote (a restarted process reusing
 * a StatefulSet name or a fixed `--id`, while the old one is only cut off) is someone else's until
 * it expires. client-go takes it at once, which overlaps with the old process when it still acts.
 * Ours is judged by the term's acquireTime: every write of one term carries the same one.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emptyRecord, formatMicroTime } from "../../src/record.ts";
import { when, world } from "../support/candidates.ts";

describe("a record that names us but that we never wrote", () => {
  it("is not taken until it expires, and then as a new term (transitions + 1)", async () => {
    const w = world();
    const earlier = formatMicroTime(w.clock.wall() - 1_000);
    w.store.write("foo", "bar", {
      record: { ...emptyRecord, holderIdentity: "a", leaseDurationSeconds: 15, acquireTime: earlier, renewTime: earlier, leaseTransitions: 3 },
    });
    const a = w.candidate("a");
    await w.clock.until(() => a.elector.isLeader(), 60_000);
    assert.equal(when(a, "started"), 15_000, "at the local expiry of the record it found");
    assert.deepEqual(a.terms.map((t) => t.transitions), [4]);
    assert.notEqual(a.terms[0]?.acquireTime, earlier);
  });

  it("a restarted process with the same identity never leads beside the old one that is only cut off", async () => {
    const w = world();
    const old = w.candidate("a");
    await w.clock.advance(3_000);
    assert.ok(old.elector.isLeader());
    // The old process still runs, but the new one starts (same StatefulSet name).
    const restarted = w.candidate("a");
    let both = 0;
    for (let t = 0; t < 60_000; t += 100) {
      await w.clock.advance(100);
      if (old.elector.isLeader() && restarted.elector.isLeader()) both++;
    }
    assert.equal(both, 0, "never two leaders");
    assert.ok(old.elector.isLeader(), "the old process keeps leading while it renews");
    // Now the old process is cut off: the new one takes over once the lease has expired.
    const cutAt = w.clock.now();
    old.lock.inject({ hang: true });
    await w.clock.until(() => restarted.elector.isLeader(), 60_000);
    assert.ok(old.signal?.aborted, "the old one stopped acting first");
    assert.ok(w.clock.now() - cutAt >= 15_000 - 2_000, "not before the old term expired");
    assert.deepEqual(restarted.terms.map((t) => t.transitions), [1]);
  });

  it("a leader that sees its identity with another acquireTime steps down (another process took it)", async () => {
    const w = world();
    const a = w.candidate("a");
    await w.clock.advance(100);
    const other = formatMicroTime(w.clock.wall());
    w.store.write("foo", "bar", { record: { holderIdentity: "a", acquireTime: other, renewTime: other, leaseTransitions: 1 } });
    await w.clock.advance(0);
    assert.equal(when(a, "signal aborted"), 100);
    assert.equal(a.elector.isLeader(), false);
  });

  it("release never blanks a lease that another process with our identity holds now", async () => {
    const w = world({ releaseOnCancel: true, watch: false });
    const a = w.candidate("a");
    await w.clock.advance(100);
    const other = formatMicroTime(w.clock.wall());
    w.store.write("foo", "bar", { record: { holderIdentity: "a", acquireTime: other, renewTime: other, leaseTransitions: 1 } });
    await w.clock.advance(50);
    a.controller.abort();
    await w.clock.until(() => a.outcome !== undefined);
    assert.deepEqual(
      [w.store.read("foo", "bar")?.record.holderIdentity, w.store.read("foo", "bar")?.record.acquireTime],
      ["a", other],
      "left as the other process wrote it",
    );
  });
});
