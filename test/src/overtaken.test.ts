/**
 * A take-over overwritten at once: client-go's MultiLock can write the Lease right after a
 * Lease-only candidate took it (see the README's migration section). The watch may bring both our
 * write and the one after it before our write's answer; the candidate must not then lead on,
 * deaf to the watch until its next renew. Pure protocol, answers held by hand.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LeaderElectionRecord } from "../../src/record.ts";
import { NAME, NAMESPACE, Scripted, settingsOf } from "../support/scripted.ts";
import { observedOf } from "../../adapters/memory/store.ts";

const RELEASED: LeaderElectionRecord = {
  holderIdentity: "",
  leaseDurationSeconds: 1,
  acquireTime: "2026-11-23T00:00:00.000000Z",
  renewTime: "2026-11-23T00:00:00.000000Z",
  leaseTransitions: 4,
  strategy: "",
  preferredHolder: "",
};

/** A follower watching a released Lease; its take-over write is in flight. */
const takingOver = () => {
  const script = new Scripted(settingsOf({ watch: true }));
  script.store.create(NAMESPACE, NAME, { ...RELEASED, holderIdentity: "old", leaseDurationSeconds: 10 }, {});
  script.send({ _tag: "Start" }, 0);
  assert.equal(script.state.phase._tag, "candidate");
  const stored = script.store.update(NAMESPACE, NAME, RELEASED, observedOf(script.store.get(NAMESPACE, NAME)).version, {});
  script.hold = true;
  script.send({ _tag: "Changed", snapshot: observedOf(stored) }, 100);
  const write = script.pending.shift()!;
  assert.equal(write.request.op, "update");
  return { script, write };
};

describe("a take-over that someone overwrites at once", () => {
  it("does not lead when the watch showed another holder's write after ours, before our answer", () => {
    const { script, write } = takingOver();
    const ours = script.serve(write.request);
    assert.ok(ours._tag === "ok");
    const theirs = script.store.update(NAMESPACE, NAME, { ...ours.snapshot.record, holderIdentity: "intruder" }, ours.snapshot.version as never, {});
    script.send({ _tag: "Changed", snapshot: ours.snapshot }, 101);
    script.send({ _tag: "Changed", snapshot: observedOf(theirs) }, 102);
    script.send({ _tag: "Result", id: write.id, outcome: ours }, 103);
    assert.equal(script.emitted("StartLeading").length, 0, "never started leading");
    assert.notEqual(script.state.phase._tag, "leader");
    assert.deepEqual(script.emitted("NewLeader").map((c) => c.identity).at(-1), "intruder");
  });

  it("leads when the watch showed only our own write (or nothing) before our answer", () => {
    for (const echo of [true, false]) {
      const { script, write } = takingOver();
      const ours = script.serve(write.request);
      assert.ok(ours._tag === "ok");
      if (echo) script.send({ _tag: "Changed", snapshot: ours.snapshot }, 101);
      script.send({ _tag: "Result", id: write.id, outcome: ours }, 103);
      assert.equal(script.state.phase._tag, "leader", `echo first: ${echo}`);
      assert.equal(script.emitted("StartLeading").length, 1);
    }
  });
});
