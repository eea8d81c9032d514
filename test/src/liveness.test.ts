/**
 * Issue #9, holes 1 and 6: every configuration tenure accepts keeps its leader on a healthy lock,
 * however the renews fall against the wall clock's seconds, and with a round trip as long as the
 * deadline allows. Virtual time: the runs below cover minutes in milliseconds.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
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
