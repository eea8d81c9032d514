/**
 * A fleet of electors on one memory lock in virtual time, with random request latencies,
 * failures (some after the server applied the write), hung requests, spurious 409s, broken and
 * expired watches, event-loop stalls, partitions, kills, graceful stops, and clocks running at
 * different rates. Faults stop at `faultsUntil`; then a leader must appear.
 *
 * After every timer it checks that no two live, running electors believe they lead, judged both by
 * `isLeader()` and by a leader signal that has not been aborted.
 */
import { createElector, type Elector, LockError, type LockErrorReason } from "../../src/index.ts";
import { type Fault, MemoryLeaseStore, memoryLock } from "../../adapters/memory.ts";
import { type DerivedClock, settle, VirtualClock } from "../../adapters/virtual-clock.ts";

export const TIMING: { readonly leaseDuration: number; readonly renewDeadline: number; readonly retryPeriod: number } = { leaseDuration: 15_000, renewDeadline: 10_000, retryPeriod: 2_000 } as const;
/**
 * The bound for a leader to appear once faults stop: leaseDuration + 2 x retryPeriod, made exact.
 * A candidate whose last attempt failed just before faults stopped waits up to client-go's jittered
 * 2.2 x retryPeriod for its next read, which may be its first sight of the record, and then
 * leaseDuration on its own clock; a clock running slow stretches both in real time. Plus a little
 * latency for the read and the write (at most 20 ms each way once faults stop).
 */
export const recoveryBound = (scenario: Scenario): number => {
  const slowest = Math.min(...scenario.rates.slice(0, scenario.electors));
  return (TIMING.leaseDuration + 2.2 * TIMING.retryPeriod) / slowest + 100;
};

export interface Scenario {
  readonly seed: number;
  readonly electors: number;
  /** Clock rate per slot; the fastest over the slowest must stay under leaseDuration / renewDeadline. */
  readonly rates: readonly number[];
  readonly faultsUntil: number;
  readonly errorRate: number;
  readonly hangRate: number;
  readonly maxLatency: number;
  readonly releaseOnCancel: boolean;
  /** `at` is a fraction of faultsUntil. */
  readonly stalls: readonly { readonly at: number; readonly slot: number; readonly ms: number }[];
  readonly disruptions: readonly { readonly at: number; readonly slot: number; readonly kind: Disruption }[];
}

/** What happens to a slot's process (or, with `Leader`, to whoever leads at that moment). */
export type Disruption =
  | "kill"
  | "stop"
  | "partition"
  | "killLeader"
  | "stopLeader"
  | "partitionLeader"
  | "stallLeader"
  | "breakWatches"
  | "compact";

export interface Verdict {
  readonly violations: readonly string[];
  /** Base time from faultsUntil to the first moment a leader existed (0 if one already did). */
  readonly recovery: number | undefined;
  readonly leaderships: number;
}

interface Process {
  readonly id: string;
  readonly slot: number;
  readonly clock: DerivedClock;
  readonly elector: Elector;
  readonly controller: AbortController;
  signal: AbortSignal | undefined;
  dead: boolean;
  ended: boolean;
  partitioned: boolean;
}

/** mulberry32: a small seeded generator, so a failing scenario replays exactly. */
export const prng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const ERRORS: readonly LockErrorReason[] = ["ServerError", "Timeout", "Network", "TooManyRequests", "Conflict"];

export const simulate = async (scenario: Scenario): Promise<Verdict> => {
  const random = prng(scenario.seed);
  const base = new VirtualClock();
  const store = new MemoryLeaseStore({ clock: base });
  const faulty = (): boolean => base.now() < scenario.faultsUntil;
  const violations: string[] = [];
  const processes: Process[] = [];
  const generations = new Array<number>(scenario.electors).fill(0);
  let leaderships = 0;

  const plan = (process: () => Process) => (): Fault | undefined => {
    const latency = faulty() ? scenario.maxLatency : 20;
    const timing = { delay: random() * latency, responseDelay: 1 + random() * latency };
    if (!faulty()) return timing;
    if (process().partitioned) return { hang: true };
    const u = random();
    if (u < scenario.hangRate) return { hang: true };
    if (u < scenario.hangRate + scenario.errorRate) {
      const error = ERRORS[Math.floor(random() * ERRORS.length)] as LockErrorReason;
      const applied = error !== "Conflict" && error !== "TooManyRequests" && random() < 0.5;
      return { ...timing, error, applied, ...(error === "TooManyRequests" ? { retryAfter: random() * 3_000 } : {}) };
    }
    return timing;
  };

  const spawn = (slot: number): void => {
    const id = `p${slot}-${generations[slot] = (generations[slot] ?? 0) + 1}`;
    const clock = base.derive(scenario.rates[slot] ?? 1, random() * 1e6);
    const controller = new AbortController();
    let self: Process | undefined;
    const lock = memoryLock(store, {
      namespace: "sim",
      name: "lease",
      client: id,
      clock,
      watchLatency: () => 1 + random() * (faulty() ? scenario.maxLatency : 20),
    });
    lock.inject(plan(() => self as Process));
    const elector = createElector({
      lock,
      identity: id,
      clock,
      random,
      ...TIMING,
      releaseOnCancel: scenario.releaseOnCancel,
      onStartedLeading: (signal) => {
        leaderships++;
        (self as Process).signal = signal;
      },
      onStoppedLeading: () => {},
    });
    self = { id, slot, clock, elector, controller, signal: undefined, dead: false, ended: false, partitioned: false };
    const process = self;
    processes.push(process);
    void elector.run(controller.signal).catch((error: unknown) => violations.push(`${id}: run rejected: ${String(error)}`)).finally(() => {
      process.ended = true;
      if (!process.dead) respawnLater(slot);
    });
  };

  const respawnLater = (slot: number): void => void base.setTimer(base.now() + 200 + random() * 800, () => spawn(slot));
  const current = (slot: number): Process | undefined => processes.findLast((p) => p.slot === slot && !p.dead && !p.ended);

  const leader = (): Process | undefined => processes.find((p) => !p.dead && !p.ended && p.elector.isLeader());
  const disrupt = (slot: number, kind: Disruption): void => {
    if (kind.endsWith("Leader")) {
      const target = leader();
      if (target === undefined) return;
      if (kind === "stallLeader") return target.clock.stall(Math.min(3_000 + random() * 12_000, scenario.faultsUntil - base.now()));
      return disrupt(target.slot, kind.slice(0, -"Leader".length) as Disruption);
    }
    const process = current(slot);
    switch (kind) {
      case "kill":
        if (process === undefined) return;
        process.dead = true;
        process.clock.stall(Infinity);
        respawnLater(slot);
        return;
      case "stop":
        return process?.controller.abort();
      case "partition":
        if (process) process.partitioned = true;
        return;
      case "breakWatches":
        return store.closeWatches(new LockError("Network", "connection reset"));
      case "compact":
        return store.compact();
      default:
        return;
    }
  };

  for (let slot = 0; slot < scenario.electors; slot++) spawn(slot);
  for (const { at, slot, ms } of scenario.stalls) {
    const start = at * scenario.faultsUntil;
    base.setTimer(start, () => current(slot % scenario.electors)?.clock.stall(Math.min(ms, scenario.faultsUntil - start)));
  }
  for (const { at, slot, kind } of scenario.disruptions) {
    base.setTimer(at * scenario.faultsUntil, () => disrupt(slot % scenario.electors, kind));
  }

  base.setTimer(scenario.faultsUntil, () => {}); // so that the check runs at the moment faults stop
  let recovery: number | undefined;
  const check = (): void => {
    const live = processes.filter((p) => !p.dead && !p.ended && !p.clock.stalled());
    const believers = live.filter((p) => p.elector.isLeader());
    const acting = live.filter((p) => p.signal !== undefined && !p.signal.aborted);
    if (believers.length > 1) violations.push(`${base.now()}: isLeader() true in ${believers.map((p) => p.id).join(", ")}`);
    if (acting.length > 1) violations.push(`${base.now()}: leader signals not aborted in ${acting.map((p) => p.id).join(", ")}`);
    if (recovery === undefined && !faulty() && believers.length === 1) recovery = base.now() - scenario.faultsUntil;
  };

  const bound = recoveryBound(scenario);
  const end = scenario.faultsUntil + bound + 5_000;
  let steps = 0;
  while (violations.length === 0 && (base.next() ?? Infinity) <= end) {
    await base.step();
    check();
    // Timers that keep firing without time moving on are a livelock.
    if (++steps > 200_000) violations.push(`livelock: ${steps} timers by ${base.now()} ms`);
  }
  if (recovery === undefined) violations.push(`no leader within ${bound} ms after faults stopped (by ${end - scenario.faultsUntil} ms)`);
  else if (recovery > bound) violations.push(`a leader appeared ${recovery} ms after faults stopped (bound ${bound} ms)`);

  // Stop everyone; every run must end, and within its bounds.
  for (const process of processes) process.controller.abort();
  await settle();
  const deadline = base.now() + 2 * TIMING.renewDeadline;
  while (processes.some((p) => !p.dead && !p.ended) && (base.next() ?? Infinity) <= deadline) await base.step();
  for (const process of processes) {
    if (!process.dead && !process.ended) violations.push(`${process.id}: run did not end after abort`);
  }
  return { violations, recovery, leaderships };
};

/** One lone leader (and perhaps idle followers) on a healthy lock: nothing fails, requests are only slow. */
export interface Hold {
  readonly seed: number;
  readonly leaseDuration: number;
  readonly renewDeadline: number;
  readonly retryPeriod: number;
  /** 1 to 3; the first to write leads, the others follow. */
  readonly electors: number;
  /** Where in its second the wall clock is when the run starts (ms), so renews meet every phase. */
  readonly phase: number;
  /** The longest round trip (ms): each way takes a uniform [0, latency / 2], or exactly half when `fixed`. */
  readonly latency: number;
  readonly fixed: boolean;
  readonly watch: boolean;
  /** Virtual ms to run for. */
  readonly duration: number;
}

/**
 * Runs `hold` and says what went wrong: the leader lost leadership (and why), or someone else led,
 * or nobody did. A healthy lock must keep its first leader for the whole run.
 */
export const hold = async (scenario: Hold): Promise<readonly string[]> => {
  const random = prng(scenario.seed);
  const clock = new VirtualClock(0, Date.UTC(2026, 10, 23, 18, 0, 0) + scenario.phase);
  const store = new MemoryLeaseStore({ clock });
  const oneWay = (): number => ((scenario.fixed ? 1 : random()) * scenario.latency) / 2;
  const problems: string[] = [];
  const controllers: AbortController[] = [];
  const leaders: string[] = [];
  for (let slot = 0; slot < scenario.electors; slot++) {
    const id = `p${slot}`;
    const lock = memoryLock(store, { namespace: "sim", name: "lease", client: id, watchLatency: oneWay, watch: scenario.watch });
    lock.inject(() => ({ delay: oneWay(), responseDelay: oneWay() }));
    const controller = new AbortController();
    controllers.push(controller);
    const elector = createElector({
      lock,
      identity: id,
      clock,
      random,
      leaseDuration: scenario.leaseDuration,
      renewDeadline: scenario.renewDeadline,
      retryPeriod: scenario.retryPeriod,
      watch: scenario.watch,
      onStartedLeading: (signal) => {
        leaders.push(id);
        signal.addEventListener("abort", () => {
          if (!controller.signal.aborted) problems.push(`${id} lost leadership at ${clock.now()} ms: ${String((signal.reason as Error).message)}`);
        });
      },
      onStoppedLeading: () => {},
    });
    void elector.run(controller.signal).catch((error: unknown) => problems.push(`${id}: run rejected: ${String(error)}`));
  }
  await clock.advanceTo(scenario.duration);
  if (leaders.length !== 1) problems.push(`${leaders.length} terms of leadership (${leaders.join(", ")}), expected exactly one`);
  for (const controller of controllers) controller.abort();
  await clock.advance(2 * scenario.renewDeadline);
  return problems;
};
