/**
 * The in-process cluster scenarios of bench/cluster.ts: idle request rates, graceful handovers and
 * crash failovers of tenure electors on one Lease.
 */
import { type Contender, contend, type Counts, ratesBetween } from "./contender.ts";
import type { Timings } from "./config.ts";
import { epochMs, readLease, type Sandbox, sleep, sleepUntil, type TestCluster, until } from "./kube.ts";

/** A fleet of electors on one Lease; a stopped or crashed one is replaced by a fresh identity. */
export class Fleet {
  readonly #kube: TestCluster;
  readonly #box: Sandbox;
  readonly #name: string;
  readonly #timings: Timings;
  readonly #releaseOnCancel: boolean;
  #next = 0;
  members: Contender[] = [];

  constructor(kube: TestCluster, box: Sandbox, name: string, timings: Timings, releaseOnCancel: boolean, size: number) {
    this.#kube = kube;
    this.#box = box;
    this.#name = name;
    this.#timings = timings;
    this.#releaseOnCancel = releaseOnCancel;
    for (let i = 0; i < size; i++) this.members.push(this.#spawn());
  }

  #spawn(): Contender {
    return contend(this.#kube, this.#box, this.#name, `elector-${this.#next++}`, this.#timings, this.#releaseOnCancel);
  }

  leaders(): Contender[] {
    return this.members.filter((m) => m.elector.isLeader());
  }

  /** One leader, and every other member has seen it (so it has read the Lease and is watching). */
  async settled(limit = 30_000): Promise<Contender> {
    const ok = await until(() => {
      const leaders = this.leaders();
      const leader = leaders[0];
      return leaders.length === 1 && leader !== undefined && this.members.every((m) => m === leader || m.elector.leader() === leader.id);
    }, limit);
    const leader = this.leaders()[0];
    if (!ok || leader === undefined) throw new Error(`no settled leader within ${limit} ms (leaders: ${this.leaders().map((l) => l.id).join(", ") || "none"})`);
    return leader;
  }

  /** Replaces `old` (stopped or crashed) with a fresh elector. */
  replace(old: Contender): Contender {
    const fresh = this.#spawn();
    this.members = this.members.map((m) => (m === old ? fresh : m));
    return fresh;
  }

  async stop(): Promise<void> {
    for (const m of this.members) m.controller.abort();
    await Promise.all(this.members.map((m) => m.done));
  }
}

export interface RateResult {
  readonly minutes: number;
  /** What the electors' onError heard during the window: count per distinct text. */
  readonly errors: ReadonlyMap<string, number>;
  readonly leader: { readonly id: string; readonly perMinute: Counts };
  readonly followers: readonly { readonly id: string; readonly perMinute: Counts }[];
  readonly leaderChanged: boolean;
}

/** `size` idle electors for `minutes` after they settled (plus `warmupMs`): requests per minute each sent. */
export const requestRates = async (kube: TestCluster, box: Sandbox, timings: Timings, size: number, minutes: number, warmupMs = 10_000): Promise<RateResult> => {
  const fleet = new Fleet(kube, box, "rates", timings, false, size);
  try {
    const leader = await fleet.settled();
    await sleep(warmupMs);
    const from = performance.now();
    await sleepUntil(from + minutes * 60_000);
    const to = performance.now();
    const actual = (to - from) / 60_000;
    const leaderChanged = fleet.leaders()[0] !== leader;
    const errors = new Map<string, number>();
    for (const m of fleet.members) for (const e of m.errors) if (e.at >= from && e.at < to) errors.set(e.text, (errors.get(e.text) ?? 0) + 1);
    return {
      minutes: actual,
      errors,
      leaderChanged,
      leader: { id: leader.id, perMinute: ratesBetween(leader.sent, from, to) },
      followers: fleet.members.filter((m) => m !== leader).map((m) => ({ id: m.id, perMinute: ratesBetween(m.sent, from, to) })),
    };
  } finally {
    await fleet.stop();
  }
};

export interface HandoverResult {
  /** Milliseconds from aborting the leader (releaseOnCancel) to the successor's onStartedLeading. */
  readonly latencies: readonly number[];
}

/** `count` graceful handovers among `size` electors. */
export const gracefulHandovers = async (kube: TestCluster, box: Sandbox, timings: Timings, size: number, count: number): Promise<HandoverResult> => {
  const fleet = new Fleet(kube, box, "handover", timings, true, size);
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const leader = await fleet.settled();
      await sleep(300); // the newest follower's watch is open
      const others = fleet.members.filter((m) => m !== leader);
      const stoppedAt = performance.now();
      leader.controller.abort();
      if (!(await until(() => others.some((o) => o.started !== undefined), 10_000))) throw new Error(`handover ${i + 1}: nobody took over within 10 s`);
      const successor = others.find((o) => o.started !== undefined) as Contender;
      latencies.push((successor.started?.perf as number) - stoppedAt);
      await leader.done;
      fleet.replace(leader);
    }
    return { latencies };
  } finally {
    await fleet.stop();
  }
};

export interface CrashResult {
  /** Milliseconds from cutting the leader's network to the successor's onStartedLeading. */
  readonly failovers: readonly number[];
  /** Milliseconds the takeover came after the lease expired (last renewTime + leaseDuration). */
  readonly overshoots: readonly number[];
  /** Takeovers that started before the old leader's signal was aborted (must be 0). */
  readonly overlaps: number;
}

/** `count` crashes (the leader's network cut: no release) among `size` electors. */
export const crashFailovers = async (kube: TestCluster, box: Sandbox, timings: Timings, size: number, count: number): Promise<CrashResult> => {
  const fleet = new Fleet(kube, box, "crash", timings, false, size);
  const failovers: number[] = [];
  const overshoots: number[] = [];
  let overlaps = 0;
  try {
    for (let i = 0; i < count; i++) {
      const leader = await fleet.settled();
      await sleep(300 + Math.random() * timings.retryPeriod); // crash at a random point of the renew cycle
      const others = fleet.members.filter((m) => m !== leader);
      const cutAt = performance.now();
      leader.cut();
      await sleep(300); // a renew already on the wire lands; none after it
      const lease = await readLease(kube, box.namespace, "crash");
      if (lease?.holderIdentity !== leader.id || lease.renewTime === undefined) {
        throw new Error(`crash ${i + 1}: expected ${leader.id} to hold the lease, found ${JSON.stringify(lease)}`);
      }
      const expires = epochMs(lease.renewTime) + timings.leaseDuration;
      if (!(await until(() => others.some((o) => o.started !== undefined), timings.leaseDuration + 10_000))) {
        throw new Error(`crash ${i + 1}: nobody took over`);
      }
      const successor = others.find((o) => o.started !== undefined) as Contender;
      const started = successor.started as { perf: number; wall: number };
      failovers.push(started.perf - cutAt);
      overshoots.push(started.wall - expires);
      if (leader.steppedDown === undefined || leader.steppedDown > started.perf) overlaps++;
      leader.controller.abort();
      await leader.done;
      fleet.replace(leader);
    }
    return { failovers, overshoots, overlaps };
  } finally {
    await fleet.stop();
  }
};
