/**
 * The driver on the memory lock: renew throughput of one elector on a virtual clock, and the
 * memory that many idle, leading electors take.
 */
import { setMaxListeners } from "node:events";
import { MemoryLeaseStore, memoryLock } from "../../adapters/memory.ts";
import { VirtualClock } from "../../adapters/virtual-clock.ts";
import { createElector, type Elector, type LeaderElectionRecord, type Lock, LockError, type LockErrorReason } from "../../src/index.ts";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface ThroughputResult {
  readonly renews: number;
  readonly seconds: number;
  readonly renewsPerSecond: number;
  /** Process CPU time (user + system) per renew, in microseconds: the figure compared with client-go's. */
  readonly cpuMicrosPerRenew: number;
  /** Virtual milliseconds per renew: the retry period if every renew took the fast path at once. */
  readonly virtualMsPerRenew: number;
}

/** The lock of a throughput run: tenure's memory lock with or without watch, or one as small as the Go peer's. */
export type DriverLock = "watched" | "unwatched" | "minimal";

/**
 * One elector leading a memory lease on a VirtualClock, defaults 15 s/10 s/2 s: each timer fires
 * without waiting, so the figure is the driver's (and the memory lock's) cost per renew attempt,
 * including the watch echo of every renewal, and the VirtualClock's own (one macrotask turn per
 * timer, see `virtualClockRate`).
 */
export const driverThroughput = async (seconds: number, warmupSeconds = 0.3, lockKind: DriverLock = "watched"): Promise<ThroughputResult> => {
  const clock = new VirtualClock();
  // Without the store's log of every request, which is for tests' assertions and grows forever.
  const store = new MemoryLeaseStore({ clock, history: 100, log: false });
  // unwatched is client-go's in-memory lock's shape (no watch, so no echo of each renew).
  const base = lockKind === "minimal" ? minimalLock() : memoryLock(store, { namespace: "bench", name: "lease", watch: lockKind === "watched" });
  let updates = 0;
  const lock: Lock = { ...base, update: (record, version, signal) => (updates++, base.update(record, version, signal)) };
  const controller = new AbortController();
  const elector = createElector({
    lock,
    identity: "bench",
    clock,
    random: () => 0.5,
    onStartedLeading: () => {},
    onStoppedLeading: () => {},
  });
  const done = elector.run(controller.signal);
  if (!(await clock.until(() => elector.isLeader(), 60_000))) throw new Error("the elector did not lead");

  const spin = async (ms: number): Promise<{ renews: number; seconds: number; virtual: number; cpu: number }> => {
    const u0 = updates;
    const v0 = clock.now();
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let now = start;
    while (now - start < ms) {
      for (let i = 0; i < 256; i++) await clock.step();
      now = performance.now();
    }
    const cpu = process.cpuUsage(cpu0);
    return { renews: updates - u0, seconds: (now - start) / 1000, virtual: clock.now() - v0, cpu: cpu.user + cpu.system };
  };
  await spin(warmupSeconds * 1000);
  const measured = await spin(seconds * 1000);
  if (!elector.isLeader()) throw new Error("the elector stopped leading during the measurement");
  controller.abort();
  await clock.until(() => false, 30_000);
  await done;
  return {
    renews: measured.renews,
    seconds: measured.seconds,
    renewsPerSecond: measured.renews / measured.seconds,
    cpuMicrosPerRenew: measured.cpu / measured.renews,
    virtualMsPerRenew: measured.virtual / measured.renews,
  };
};

/**
 * A Lock as small as the Go peer's `memLock` (bench/peer-go/main.go), for comparing the two
 * electors on equal locks: the record in a variable and a counter for its version; NotFound before
 * the create, AlreadyExists on a second one, Conflict on a stale version (tenure's Lock contract;
 * client-go's LeaseLock leaves that check to the API server). No watch, and none of the API
 * server's work that tenure's memory store does in-process (MicroTime decoding, validation,
 * resourceVersions, the watch history), which the Go peer's lock leaves out too.
 */
const minimalLock = (): Lock => {
  let record: LeaderElectionRecord | undefined;
  let version = 0;
  const fail = (reason: LockErrorReason): Promise<never> => Promise.reject(new LockError(reason, `${reason} (bench lock)`));
  return {
    description: "bench/minimal",
    get: () => (record === undefined ? fail("NotFound") : Promise.resolve({ record, version })),
    create: (next) => {
      if (record !== undefined) return fail("AlreadyExists");
      record = next;
      return Promise.resolve({ record, version: ++version });
    },
    update: (next, seen) => {
      if (record === undefined || seen !== version) return fail("Conflict");
      record = next;
      return Promise.resolve({ record, version: ++version });
    },
  };
};

/** The VirtualClock alone: a timer that re-arms itself, stepped as (b) steps the elector. The floor under (b). */
export const virtualClockRate = async (seconds: number): Promise<{ readonly timersPerSecond: number; readonly cpuMicrosPerTimer: number }> => {
  const clock = new VirtualClock();
  const arm = (): void => void clock.setTimer(clock.now() + 2_000, arm);
  arm();
  let fired = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    for (let i = 0; i < 256; i++) await clock.step();
    fired += 256;
  }
  const cpu = process.cpuUsage(cpu0);
  return { timersPerSecond: fired / ((performance.now() - start) / 1000), cpuMicrosPerTimer: (cpu.user + cpu.system) / fired };
};

export interface MemoryResult {
  readonly electors: number;
  readonly leading: number;
  readonly heapBytesPerElector: number;
  readonly rssBytesPerElector: number;
  /**
   * What the memory store still holds per lease once every elector has stopped and been
   * collected: the Lease (its operation log, for tests, is off). Included above.
   */
  readonly storeBytesPerLease: number;
}

type Gc = () => void;

const collect = async (): Promise<void> => {
  const gc = (globalThis as { gc?: Gc }).gc;
  if (gc === undefined) throw new Error("run node with --expose-gc (npm run bench does)");
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(20);
  }
};

/** Long timings, so that nothing renews while the heap is measured (client-go's side uses the same). */
const IDLE = { leaseDuration: 60_000, renewDeadline: 40_000, retryPeriod: 20_000 } as const;

interface Fleet {
  readonly leading: () => number;
  /** Stops every elector and drops them, keeping only the store. */
  readonly stop: () => Promise<void>;
  readonly store: MemoryLeaseStore;
}

/** `n` electors on the system clock, each leading its own memory lease once `started` resolves. */
const fleet = async (n: number, prefix: string): Promise<Fleet> => {
  const store = new MemoryLeaseStore({ log: false });
  const controller = new AbortController();
  setMaxListeners(n + 10, controller.signal); // one shared signal, as an application stopping them all would
  const electors: Elector[] = [];
  const runs: Promise<void>[] = [];
  let leading = 0;
  for (let i = 0; i < n; i++) {
    const elector = createElector({
      lock: memoryLock(store, { namespace: "bench", name: `${prefix}-${i}` }),
      identity: `${prefix}-${i}`,
      ...IDLE,
      onStartedLeading: () => void leading++,
      onStoppedLeading: () => {},
    });
    electors.push(elector);
    runs.push(elector.run(controller.signal));
  }
  const deadline = performance.now() + 30_000;
  while (leading < n) {
    if (performance.now() > deadline) throw new Error(`only ${leading} of ${n} electors lead after 30 s`);
    await sleep(10);
  }
  return {
    leading: () => electors.filter((e) => e.isLeader()).length,
    store,
    stop: async () => {
      controller.abort();
      await Promise.all(runs);
      electors.length = 0;
      runs.length = 0;
    },
  };
};

/** Heap and RSS per elector of `n` idle electors, each leading its own memory lease, after GC. */
export const idleMemory = async (n: number): Promise<MemoryResult> => {
  // Warm up: compile the code paths once, so that the figure holds no one-off costs.
  await (await fleet(200, "warm")).stop();
  await collect();
  const before = process.memoryUsage();
  const running = await fleet(n, "lease");
  await sleep(500); // every elector parked on its renew timer and its watch
  await collect();
  const after = process.memoryUsage();
  const leading = running.leading();
  await running.stop();
  await sleep(100);
  await collect();
  const storeOnly = process.memoryUsage();
  return {
    electors: n,
    leading,
    heapBytesPerElector: (after.heapUsed - before.heapUsed) / n,
    rssBytesPerElector: (after.rss - before.rss) / n,
    storeBytesPerLease: (storeOnly.heapUsed - before.heapUsed) / n,
  };
};
