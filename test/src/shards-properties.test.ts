/**
 * Property test of fleets holding several leases (issue #13): 2-4 replicas, 2-6 leases, a random
 * cap, random request faults (some applied by the server before failing), latencies, kills,
 * graceful stops, clock stalls and rates, broken shared watches and 410s, in virtual time.
 * Never two leaders of one lease, never more than the cap; once faults stop, every lease is led
 * again within leaseDuration + 2.2 x retryPeriod on the slowest clock, plus the shared watch's
 * longest back-off. `TENURE_PROPERTY_RUNS` sets the number of runs (default 1000; a tenth here).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Fault } from "../../adapters/memory.ts";
import { settle } from "../../adapters/virtual-clock.ts";
import { LockError, type LockErrorReason } from "../../src/lock.ts";
import { bucketNames } from "../../src/shards/index.ts";
import { Fleet, TIMING } from "../support/shard-fleet.ts";
import { prng } from "../support/simulation.ts";

const runs = Math.max(1, Math.round(Number(process.env["TENURE_PROPERTY_RUNS"] ?? 1000) / 10));
const seed = process.env["TENURE_PROPERTY_SEED"] === undefined ? {} : { seed: Number(process.env["TENURE_PROPERTY_SEED"]) };

type Disruption = "kill" | "stop" | "stall" | "breakWatches" | "expireWatches";

interface Scenario {
  readonly seed: number;
  readonly replicas: number;
  readonly leases: number;
  /** Extra slots over the even share: the cap is ceil(leases / replicas) + extra, or no cap. */
  readonly extra: number | undefined;
  readonly rates: readonly number[];
  readonly faultsUntil: number;
  readonly errorRate: number;
  readonly maxLatency: number;
  readonly disruptions: readonly { readonly at: number; readonly slot: number; readonly kind: Disruption }[];
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  seed: fc.integer(),
  replicas: fc.integer({ min: 2, max: 4 }),
  leases: fc.integer({ min: 2, max: 6 }),
  extra: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  rates: fc.array(fc.constantFrom(0.9, 1, 1.2), { minLength: 4, maxLength: 4 }),
  faultsUntil: fc.integer({ min: 5_000, max: 40_000 }),
  errorRate: fc.constantFrom(0, 0.1, 0.3),
  maxLatency: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 2_000 })),
  disruptions: fc.array(
    fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), slot: fc.nat(3), kind: fc.constantFrom<Disruption>("kill", "stop", "stall", "breakWatches", "expireWatches") }),
    { maxLength: 6 },
  ),
});

const ERRORS: readonly LockErrorReason[] = ["ServerError", "Timeout", "Network", "Conflict"];
/** The shared watch backs off up to 30 s after failures; followers poll meanwhile, so only a failed watch at the very end adds its wait. */
const SLACK = 2_000;

const simulate = async (s: Scenario): Promise<string[]> => {
  const random = prng(s.seed);
  const names = bucketNames("sim", "q", s.leases);
  const maxHeld = s.extra === undefined ? undefined : Math.ceil(s.leases / s.replicas) + s.extra;
  const fleet: Fleet = new Fleet({
    names,
    maxHeld,
    random,
    rate: (slot) => s.rates[slot] ?? 1,
    plan: () => (): Fault | undefined => {
      const faulty = fleet.base.now() < s.faultsUntil;
      const latency = faulty ? s.maxLatency : 20;
      const timing = { delay: random() * latency, responseDelay: 1 + random() * latency };
      if (!faulty || random() >= s.errorRate) return timing;
      const error = ERRORS[Math.floor(random() * ERRORS.length)] as LockErrorReason;
      return { ...timing, error, applied: error !== "Conflict" && random() < 0.5 };
    },
  });
  const slots = Array.from({ length: s.replicas }, (_, slot) => fleet.spawn(slot));
  const respawn = (slot: number): void => void fleet.base.setTimer(fleet.base.now() + 200 + random() * 800, () => (slots[slot] = fleet.spawn(slot)));
  for (const { at, slot: raw, kind } of s.disruptions) {
    const slot = raw % s.replicas;
    fleet.base.setTimer(at * s.faultsUntil, () => {
      const replica = slots[slot];
      if (replica === undefined || replica.dead) return;
      switch (kind) {
        case "kill":
          fleet.kill(replica);
          return respawn(slot);
        case "stop":
          replica.controller.abort();
          return respawn(slot);
        case "stall":
          return replica.clock.stall(Math.min(3_000 + random() * 12_000, s.faultsUntil - fleet.base.now()));
        case "breakWatches":
          return fleet.store.closeWatches(new LockError("Network", "connection reset"));
        case "expireWatches":
          return fleet.store.closeWatches(new LockError("Expired", "too old resource version", { status: 410 }));
      }
    });
  }
  fleet.base.setTimer(s.faultsUntil, () => {});

  const slowest = Math.min(...s.rates.slice(0, s.replicas));
  const bound = (TIMING.leaseDuration + 2.2 * TIMING.retryPeriod) / slowest + SLACK;
  const end = s.faultsUntil + bound + 5_000;
  const violations: string[] = [];
  let recovered: number | undefined;
  let steps = 0;
  while (violations.length === 0 && (fleet.base.next() ?? Infinity) <= end) {
    await fleet.base.step();
    violations.push(...fleet.violations());
    if (recovered === undefined && fleet.base.now() >= s.faultsUntil && fleet.allLed()) recovered = fleet.base.now() - s.faultsUntil;
    if (++steps > 400_000) violations.push(`livelock: ${steps} timers by ${fleet.base.now()} ms`);
  }
  if (violations.length > 0) return violations;
  if (recovered === undefined || recovered > bound) {
    const led = [...fleet.leaders()].map(([n, l]) => `${n}: ${l.believers.join("+") || "-"}`).join(", ");
    return [`not every lease led within ${bound} ms of faults stopping (${recovered ?? "never"}): ${led}`];
  }
  for (const replica of fleet.replicas) replica.controller.abort();
  await settle();
  const deadline = fleet.base.now() + 2 * TIMING.renewDeadline;
  while (fleet.replicas.some((r) => !r.dead && !r.ended) && (fleet.base.next() ?? Infinity) <= deadline) await fleet.base.step();
  return fleet.replicas.filter((r) => !r.dead && !r.ended).map((r) => `${r.id}: run did not end after abort`);
};

describe("fleets of 2-4 replicas holding 2-6 leases under random faults", () => {
  it(`never lead one lease twice or exceed the cap, and lead every lease again once faults stop (${runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => assert.deepEqual(await simulate(s), [])),
      { numRuns: runs, ...seed },
    );
  });
});
