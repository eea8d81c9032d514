/**
 * Property tests of the whole elector on the memory lock in virtual time: never two leaders, and
 * a leader soon after faults stop. `TENURE_PROPERTY_RUNS` sets the number of runs (default 1000).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type Disruption, type Scenario, simulate } from "../support/simulation.ts";

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
