/**
 * Issue #9, holes 1 and 6: every configuration tenure accepts keeps its leader on a healthy lock,
 * however the renews fall against the wall clock's seconds, and with a round trip as long as the
 * deadline allows. Virtual time: the runs below cover minutes in milliseconds.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Scripted, settingsOf } from "../support/scripted.ts";
import { type Hold, hold } from "../support/simulation.ts";

const PHASES = Array.from({ length: 10 }, (_, k) => k * 100 + 37);

const holds = async (base: Omit<Hold, "phase" | "seed">): Promise<void> => {
  for (const phase of PHASES) {
    assert.deepEqual(await hold({ ...base, phase, seed: phase }), [], `wall clock ${phase} ms into its second at the start`);
  }
};

describe("a leader keeps a healthy lock (issue #9)", () => {
  it("hole 1: the smallest renewDeadline accepted (2 s / 1.201 s / 0.3 s), 20 ms round trips, three electors", async () => {
    await holds({ leaseDuration: 2_000, renewDeadline: 1_201, retryPeriod: 300, electors: 3, latency: 20, fixed: false, watch: true, duration: 15_000 });
  });

  it("hole 1: renews a tenth of a second apart (2 s / 1.5 s / 0.1 s), polling followers", async () => {
    await holds({ leaseDuration: 2_000, renewDeadline: 1_500, retryPeriod: 100, electors: 2, latency: 50, fixed: false, watch: false, duration: 15_000 });
  });

  it("hole 6: 3 s / 2 s / 0.5 s with every request delayed 400 ms each way", async () => {
    await holds({ leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500, electors: 3, latency: 800, fixed: true, watch: true, duration: 15_000 });
  });

  it("hole 6: a round trip just under half the deadline (3 s / 2 s / 0.5 s, 990 ms), from the first term on", async () => {
    await holds({ leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500, electors: 1, latency: 990, fixed: true, watch: true, duration: 15_000 });
  });

  it("hole 6: retryPeriod above a second (5 s / 4 s / 2.5 s) with 1.4 s round trips", async () => {
    await holds({ leaseDuration: 5_000, renewDeadline: 4_000, retryPeriod: 2_500, electors: 2, latency: 1_400, fixed: true, watch: true, duration: 15_000 });
  });
});

describe("when a leader renews, and until when it leads (the pure protocol)", () => {
  /** Acquires with a GET answered at `got` and a create answered at `created` (ms; wall = whole second at 0). */
  const acquire = (retryPeriod: number, got: number, created: number): Scripted => {
    const script = new Scripted(settingsOf({ retryPeriod }));
    script.hold = true;
    script.send({ _tag: "Start" }, 0);
    script.mono = got;
    script.answer(script.pending.shift()!);
    script.mono = created;
    script.answer(script.pending.shift()!);
    assert.deepEqual(script.ops, ["get(NotFound)", "create"]);
    return script;
  };
  const leader = (script: Scripted) => {
    assert.equal(script.state.phase._tag, "leader");
    const { authorityUntil, wakeAt } = script.state.phase as { authorityUntil: number; wakeAt: number };
    return { authorityUntil, wakeAt };
  };

  it("authority runs renewDeadline from the first write, not from the read before it", () => {
    assert.equal(leader(acquire(2_000, 300, 600)).authorityUntil, 300 + 5_000);
  });

  it("the next renew comes retryPeriod after the write, not after the answer", () => {
    assert.equal(leader(acquire(2_000, 300, 600)).wakeAt, 300 + 2_000);
  });

  it("nor before the answer", () => {
    assert.equal(leader(acquire(200, 300, 1_700)).wakeAt, 1_700);
  });

  it("nor within the second of the last renew: 1 ms into the next one", () => {
    assert.equal(leader(acquire(200, 300, 600)).wakeAt, 1_001, "renewTime is the attempt's start, second 0");
  });
});

describe("a renew that failed but may have been applied (issue #9)", () => {
  // 2 s / 1.9 s / 0.2 s: client-go accepts it, and leaseDuration - renewDeadline is short.
  const settings = settingsOf({ leaseDuration: 2_000, renewDeadline: 1_900, retryPeriod: 200, requestTimeout: 1_000 });
  /** A leader since mono 0 (wall: a whole second), whose renew at 1001 ms is applied but answered with a timeout, and so is its read. */
  const afterFailedRenew = (): Scripted => {
    const script = new Scripted(settings);
    script.send({ _tag: "Start" }, 0);
    script.hold = true;
    script.send({ _tag: "Wake" }, 1_001);
    const renew = script.pending.shift()!;
    assert.equal(renew.request.op, "update");
    script.serve(renew.request); // the server applied it: a follower may see second 1 from now on
    script.send({ _tag: "Result", id: renew.id, outcome: { _tag: "error", reason: "Timeout", message: "lost answer" } }, 1_101);
    const read = script.pending.shift()!;
    assert.equal(read.request.op, "get");
    script.send({ _tag: "Result", id: read.id, outcome: { _tag: "error", reason: "Timeout", message: "lost answer" } }, 1_150);
    assert.equal(script.state.phase._tag, "leader");
    return script;
  };

  it("a later renew in the same second extends authority only from the first write in that second", () => {
    const script = afterFailedRenew();
    script.hold = false;
    script.send({ _tag: "Wake" }, 1_201);
    assert.equal(script.ops.at(-1), "update", "the retry renewed");
    const phase = script.state.phase as { _tag: string; authorityUntil: number };
    assert.equal(phase._tag, "leader");
    // A client-go follower that saw second 1 at 1001 may take over at 1001 + 2000; our authority
    // must end before that, so it runs from 1001, not from the retry's 1201.
    assert.equal(phase.authorityUntil, 1_001 + 1_900);
  });
});
