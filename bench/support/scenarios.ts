/**
 * The cluster scenarios of bench/cluster.ts (tenure electors in this process) and
 * bench/client-go.ts (tenure and client-go as processes), written once over a fleet (fleet.ts):
 * idle request rates, graceful handovers and crash failovers.
 */
import type { Timings } from "./config.ts";
import { type Counts, ratesBetween } from "./contender.ts";
import { type Electors, Fleet, type Mark, type Member } from "./fleet.ts";
import { epochMs, sleep, sleepUntil, until } from "./kube.ts";

export interface RateResult {
  readonly minutes: number;
  /** What the members reported as errors during the window: count per distinct text. */
  readonly errors: ReadonlyMap<string, number>;
  readonly leader: { readonly id: string; readonly perMinute: Counts };
  readonly followers: readonly { readonly id: string; readonly perMinute: Counts }[];
  readonly leaderChanged: boolean;
}

/** `size` idle electors for `minutes` after they settled (plus `warmupMs`): requests per minute each sent. */
export const requestRates = async (electors: Electors, timings: Timings, size: number, minutes: number, warmupMs = 10_000): Promise<RateResult> => {
  const fleet = await Fleet.start(electors, "rates", timings, false, size);
  try {
    const leader = await fleet.settled();
    await sleep(warmupMs);
    const from = performance.now();
    await sleepUntil(from + minutes * 60_000);
    const to = performance.now();
    const errors = new Map<string, number>();
    for (const m of fleet.members) for (const e of m.errors) if (e.at >= from && e.at < to) errors.set(e.text, (errors.get(e.text) ?? 0) + 1);
    return {
      minutes: (to - from) / 60_000,
      errors,
      leaderChanged: fleet.leaders()[0] !== leader,
      leader: { id: leader.id, perMinute: ratesBetween(leader.sent, from, to) },
      followers: fleet.members.filter((m) => m !== leader).map((m) => ({ id: m.id, perMinute: ratesBetween(m.sent, from, to) })),
    };
  } finally {
    await fleet.stop();
  }
};

type Successor = Member & { readonly started: Mark };

/** The first of `others` to start leading, within `limit` ms. */
const successor = async (others: readonly Member[], limit: number, what: string): Promise<Successor> => {
  if (!(await until(() => others.some((m) => m.started !== undefined), limit))) throw new Error(`${what}: nobody took over within ${limit} ms`);
  return others.find((m) => m.started !== undefined) as Successor;
};

export interface HandoverResult {
  /** Milliseconds from stopping the leader (release on cancel) to the successor's start of leading. */
  readonly latencies: readonly number[];
}

/** `count` graceful handovers among `size` electors: the leader is stopped and releases the Lease. */
export const gracefulHandovers = async (electors: Electors, timings: Timings, size: number, count: number): Promise<HandoverResult> => {
  const fleet = await Fleet.start(electors, "handover", timings, true, size);
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const leader = await fleet.settled();
      await sleep(300); // the newest follower's watch is open
      const others = fleet.members.filter((m) => m !== leader);
      const stoppedAt = performance.now();
      leader.stop();
      const next = await successor(others, 15_000, `${fleet.label} handover ${i + 1}`);
      latencies.push(next.started.at - stoppedAt);
      await fleet.replace(leader);
    }
    return { latencies };
  } finally {
    await fleet.stop();
  }
};

export interface CrashResult {
  /** Milliseconds from the crash to the successor's start of leading. */
  readonly failovers: readonly number[];
  /** Milliseconds the takeover came after the lease expired (last renewTime + leaseDuration). */
  readonly overshoots: readonly number[];
  /** Takeovers that started before the old leader stopped acting as the leader (must be 0). */
  readonly overlaps: number;
}

/** `count` crashes of the leader (no release: the lease must expire) among `size` electors. */
export const crashFailovers = async (electors: Electors, timings: Timings, size: number, count: number): Promise<CrashResult> => {
  const fleet = await Fleet.start(electors, "crash", timings, false, size);
  const failovers: number[] = [];
  const overshoots: number[] = [];
  let overlaps = 0;
  try {
    for (let i = 0; i < count; i++) {
      const leader = await fleet.settled();
      await sleep(300 + Math.random() * timings.retryPeriod); // crash at a random point of the renew cycle
      const others = fleet.members.filter((m) => m !== leader);
      const crashedAt = performance.now();
      await leader.crash();
      const lease = await fleet.lease();
      if (lease?.holderIdentity !== leader.id || lease.renewTime === undefined) {
        throw new Error(`${fleet.label} crash ${i + 1}: expected ${leader.id} to hold the lease, found ${JSON.stringify(lease)}`);
      }
      const expires = epochMs(lease.renewTime) + timings.leaseDuration;
      const next = await successor(others, timings.leaseDuration + 15_000, `${fleet.label} crash ${i + 1}`);
      failovers.push(next.started.at - crashedAt);
      overshoots.push(next.started.wall - expires);
      if (leader.steppedDown === undefined || leader.steppedDown > next.started.at) overlaps++;
      await fleet.replace(leader);
    }
    return { failovers, overshoots, overlaps };
  } finally {
    await fleet.stop();
  }
};
