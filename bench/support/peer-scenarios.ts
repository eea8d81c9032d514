/**
 * The scenarios of bench/client-go.ts, the same for either implementation: idle request rates,
 * graceful handovers (SIGTERM with --release-on-cancel) and crashes (SIGKILL), with every peer
 * a separate process behind its own counting proxy.
 */
import type { Timings } from "./config.ts";
import { type Counts, ratesBetween } from "./contender.ts";
import { epochMs, readLease, type Sandbox, sleep, sleepUntil, type TestCluster, until } from "./kube.ts";
import { monoMs, type Peer, PeerFleet } from "./peers.ts";

export type Spawner = (lease: string, timings: Timings, releaseOnCancel: boolean) => (id: string) => Promise<Peer>;

export type PerMinute = Counts;

export interface PeerRates {
  readonly minutes: number;
  readonly leader: PerMinute;
  readonly followers: readonly PerMinute[];
  readonly leaderChanged: boolean;
}

/** `size` idle peers on one Lease for `minutes` after they settled (plus `warmupMs`). */
export const peerRequestRates = async (label: string, spawner: Spawner, timings: Timings, size: number, minutes: number, warmupMs = 10_000): Promise<PeerRates> => {
  const fleet = await PeerFleet.start(label, size, spawner("rates", timings, false));
  try {
    const leader = await fleet.settled();
    await sleep(warmupMs);
    const from = performance.now();
    await sleepUntil(from + minutes * 60_000);
    const to = performance.now();
    return {
      minutes: (to - from) / 60_000,
      leaderChanged: fleet.leaders()[0] !== leader,
      leader: ratesBetween(leader.proxy.sent, from, to),
      followers: fleet.members.filter((p) => p !== leader).map((p) => ratesBetween(p.proxy.sent, from, to)),
    };
  } finally {
    await fleet.stop();
  }
};

/** `count` graceful handovers: SIGTERM to the leader (release on cancel) -> the successor's "started". */
export const peerHandovers = async (label: string, spawner: Spawner, timings: Timings, size: number, count: number): Promise<number[]> => {
  const fleet = await PeerFleet.start(label, size, spawner("handover", timings, true));
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const leader = await fleet.settled();
      await sleep(300);
      const others = fleet.members.filter((p) => p !== leader);
      const stoppedAt = monoMs();
      leader.signal("SIGTERM");
      if (!(await until(() => others.some((p) => p.started !== undefined), 15_000))) throw new Error(`${label} handover ${i + 1}: nobody took over within 15 s`);
      const successor = others.find((p) => p.started !== undefined) as Peer;
      latencies.push((successor.started?.mono as number) - stoppedAt);
      await leader.exited;
      await fleet.replace(leader);
    }
    return latencies;
  } finally {
    await fleet.stop();
  }
};

export interface PeerCrashes {
  /** Milliseconds from SIGKILL of the leader to the successor's "started". */
  readonly failovers: readonly number[];
  /** Milliseconds the takeover came after the lease expired (last renewTime + leaseDuration). */
  readonly overshoots: readonly number[];
}

/** `count` crashes: SIGKILL of the leader (no release) -> the successor's "started". */
export const peerCrashes = async (
  label: string,
  spawner: Spawner,
  kube: TestCluster,
  box: Sandbox,
  timings: Timings,
  size: number,
  count: number,
): Promise<PeerCrashes> => {
  const fleet = await PeerFleet.start(label, size, spawner("crash", timings, false));
  const failovers: number[] = [];
  const overshoots: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const leader = await fleet.settled();
      await sleep(300 + Math.random() * timings.retryPeriod); // a random point of the renew cycle
      const others = fleet.members.filter((p) => p !== leader);
      const killedAt = monoMs();
      leader.signal("SIGKILL");
      await leader.exited;
      await sleep(200);
      const lease = await readLease(kube, box.namespace, "crash");
      if (lease?.holderIdentity !== leader.id || lease.renewTime === undefined) {
        throw new Error(`${label} crash ${i + 1}: expected ${leader.id} to hold the lease, found ${JSON.stringify(lease)}`);
      }
      const expires = epochMs(lease.renewTime) + timings.leaseDuration;
      if (!(await until(() => others.some((p) => p.started !== undefined), timings.leaseDuration + 15_000))) {
        throw new Error(`${label} crash ${i + 1}: nobody took over`);
      }
      const started = (others.find((p) => p.started !== undefined) as Peer).started as { mono: number; wall: string };
      failovers.push(started.mono - killedAt);
      overshoots.push(epochMs(started.wall) - expires);
      await fleet.replace(leader);
    }
    return { failovers, overshoots };
  } finally {
    await fleet.stop();
  }
};
