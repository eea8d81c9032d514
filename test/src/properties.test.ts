/**
 * Property tests of the whole elector on the memory lock in virtual time: never two leaders, and
 * a leader soon after faults stop; and on a healthy lock, every accepted configuration keeps its
 * leader. `TENURE_PROPERTY_RUNS` sets the number of runs (default 1000; a tenth for the latter).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseSettings } from "../../src/config.ts";
import { type Disruption, type Hold, hold, type Scenario, simulate } from "../support/simulation.ts";

const runs = Number(process.env["TENURE_PROPERTY_RUNS"] ?? 1000);
/** Replays a reported failure: fast-check prints the seed. */
const seed = process.env["TENURE_PROPERTY_SEED"] === undefined ? {} : { seed: Number(process.env["TENURE_PROPERTY_SEED"]) };

/** Uniform in [min, max] at 1/1000 steps (fc.double leans towards extremes like 5e-324). */
const uniform = (min: number, max: number): fc.Arbitrary<number> =>
  fc.integer({ min: 0, max: 1000 }).map((k) => min + ((max - min) * k) / 1000);

const scenario: fc.Arbitrary<Scenario> = fc.record({
  seed: fc.integer(),
  electors: fc.integer({ min: 3, max: 7 }),
  // Within the tolerated skew: fastest / slowest = 1.2 / 0.9 < leaseDuration / renewDeadline = 1.5.
  rates: fc.array(fc.oneof(fc.constantFrom(0.9, 1.2), uniform(0.9, 1.2)), { minLength: 7, maxLength: 7 }),
  faultsUntil: fc.integer({ min: 5_000, max: 45_000 }),
  errorRate: uniform(0, 0.4),
  hangRate: uniform(0, 0.05),
  maxLatency: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 3_000 })),
  releaseOnCancel: fc.boolean(),
  stalls: fc.array(fc.record({ at: uniform(0, 1), slot: fc.nat(6), ms: fc.integer({ min: 1, max: 12_000 }) }), { maxLength: 6 }),
  disruptions: fc.array(
    fc.record({
      at: uniform(0, 1),
      slot: fc.nat(6),
      kind: fc.constantFrom<Disruption>(
        "kill",
        "stop",
        "partition",
        "killLeader",
        "stopLeader",
        "partitionLeader",
        "stallLeader",
        "breakWatches",
        "compact",
      ),
    }),
    { maxLength: 8 },
  ),
});

describe("a fleet of 3-7 electors under random faults, stalls and clock rates", () => {
  it(`never has two leaders, and elects one within leaseDuration + 2.2 x retryPeriod (on the slowest clock) once faults stop (${runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const verdict = await simulate(s);
        assert.deepEqual(verdict.violations, []);
      }),
      { numRuns: runs, ...seed },
    );
  });
});

/**
 * Any configuration createElector accepts (renewDeadline > 1.2 x max(retryPeriod, 1 s)), and any
 * round trip L that fits it: L + max(L, retryPeriod, 1 s) < renewDeadline. The next renew starts
 * after the last one's answer, its retryPeriod and the next second of the wall clock, whichever is
 * last, and must be answered within renewDeadline of the last one's write (a second 1 ms late).
 */
const holding: fc.Arbitrary<Hold> = fc
  .record({
    seed: fc.integer(),
    retryPeriod: fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 3_000 })),
    // The smallest renewDeadline accepted, often: that is where a flap would show.
    slack: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 3_000 })),
    seconds: fc.nat(2),
    electors: fc.integer({ min: 1, max: 3 }),
    phase: fc.integer({ min: 0, max: 999 }),
    fit: fc.oneof(fc.constant(0), uniform(0, 0.99)),
    fixed: fc.boolean(),
    watch: fc.boolean(),
  })
  .map(({ retryPeriod, slack, seconds, fit, electors, ...rest }): Hold => {
    const renewDeadline = Math.floor(1.2 * Math.max(retryPeriod, 1_000)) + slack;
    const latency = fit * Math.min(renewDeadline - Math.max(retryPeriod, 1_001), renewDeadline / 2);
    const leaseDuration = (Math.floor(renewDeadline / 1000) + 1 + seconds) * 1000;
    // Followers poll every retryPeriod or so without a watch: only a lone leader then, to stay quick.
    return { ...rest, electors: rest.watch ? electors : 1, leaseDuration, renewDeadline, retryPeriod, latency, duration: 15_000 };
  });

describe("a healthy lock and any accepted configuration", () => {
  const holdRuns = Math.max(1, Math.round(runs / 10));
  it(`keeps its first leader, with any round trip that fits (${holdRuns} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(holding, async (s) => {
        assert.equal(parseSettings({ ...s, lock: { get() {}, create() {}, update() {} }, identity: "p", onStartedLeading() {}, onStoppedLeading() {} })._tag, "Right");
        assert.deepEqual(await hold(s), []);
      }),
      { numRuns: holdRuns, ...seed },
    );
  });
});
