/**
 * A sharded election: one elector per Lease of a set, all fed by one shared list + watch (see
 * lease-set.ts), each running the unchanged protocol with its own term, renews and callbacks,
 * and an optional cap on how many leases this replica leads at once.
 *
 * How the cap decides: a write that would start a term (taking a lease over or creating it) is
 * let through only while the terms this replica leads plus its take-over writes in flight are
 * fewer than `maxHeld`; otherwise it waits up to half a retryPeriod for one of those to be given
 * up (a take-over that lost its race, a term that ended), and is then refused, without a request,
 * as a lost race (`Conflict`). The elector then does what it does after any lost race: it waits
 * and tries again later (reading from the shared view, so still without a request). Renewing a
 * term already led, and releasing it, always pass. Neither waiting nor refusing can make two
 * replicas lead one lease: a write that waited is still a compare-and-swap on the version read
 * before (it fails if anything changed), its term's authority still runs from when the elector
 * sent it (earlier than the real write, so shorter), and a refusal withholds a compare-and-swap
 * that the protocol already treats as failable at any time. The
 * cap bounds how many leases a replica leads; it does not pick which: the first expired or free
 * leases its electors find while a slot is open. To survive the loss of k of R replicas holding
 * N leases, give each a cap of at least ceil(N / (R - k)).
 *
 * @module
 */
import { systemClock } from "../clock.ts";
import { DEFAULTS, type ElectorOptions, type Term } from "../config.ts";
import { createElector, type Elector } from "../elector.ts";
import { type Lock, LockError, type Snapshot } from "../lock.ts";
import type { LeaderElectionRecord } from "../record.ts";
import { bucketOf } from "./buckets.ts";
import type { LeaseSet } from "./lease-set.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The elector options shared by every lease, plus the set, its names, the cap and per-lease callbacks. */
export interface ShardsOptions extends
  Omit<ElectorOptions, "lock" | "name" | "rejoin" | "watch" | "onStartedLeading" | "onStoppedLeading" | "onNewLeader"> {
  /** The shared list + watch the leases come from (`leaseSet` in `tenure/kubernetes` or `tenure/memory`). */
  readonly leases: LeaseSet;
  /** The Lease names: `bucketNames(component, queue, n)` for knative's, or your own list. */
  readonly names: readonly string[];
  /** Most leases this replica leads at once; default: all. 0 follows only (owner() still works). */
  readonly maxHeld?: number | undefined;
  /** A term of `lease` began: work until `signal` aborts. */
  readonly onStartedLeading: (lease: string, signal: AbortSignal, term: Term) => void | Promise<void>;
  /** A term of `lease` ended (its signal has just aborted). */
  readonly onStoppedLeading?: ((lease: string) => void) | undefined;
  /** The observed holder of `lease` changed; `""` after a release. */
  readonly onNewLeader?: ((lease: string, identity: string) => void) | undefined;
}

/** Which lease a key belongs to, and who holds it now by the shared watch (undefined: nobody, or expired). */
export interface Owner {
  readonly lease: string;
  readonly holder: string | undefined;
}

export interface Shards {
  /**
   * Lists and watches the set, then campaigns for every lease (within the cap) until `signal`
   * aborts; terms lost on the way are campaigned for again. Rejects when a callback failed.
   */
  run(signal?: AbortSignal): Promise<void>;
  /** The bucket of `key` (see buckets.ts for the hash) and its holder, from the shared watch: no request. */
  owner(key: string): Owner;
  /** The leases this replica leads now. */
  held(): readonly string[];
  /** True only while leading `lease` within renewDeadline of its last renew. */
  isLeader(lease: string): boolean;
}

// -------------------------------------------------------------------------------------
// constructor
// -------------------------------------------------------------------------------------

/** Validates the options (elector options as createElector does) and builds the electors. */
export const createShards = (options: ShardsOptions): Shards => {
  const { leases, names, identity } = options;
  const maxHeld = options.maxHeld ?? names.length;
  if (names.length === 0) throw new TypeError("createShards: names is empty; pass the Lease names (bucketNames(...) makes knative's)");
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new TypeError(`createShards: the Lease name ${duplicate} appears twice in names`);
  if (!Number.isInteger(maxHeld) || maxHeld < 0) throw new TypeError(`createShards: maxHeld must be a whole number >= 0, got ${maxHeld}`);

  /** Leases we lead a term of, and take-over writes in flight: never more than maxHeld together. */
  const leading = new Set<string>();
  const claims = new Set<string>();
  /** Take-overs waiting for a claim to be given up (a lost race, an ended term). */
  const waiting: (() => void)[] = [];
  const release = (name: string): void => {
    if (claims.delete(name)) waiting.shift()?.();
  };
  // How long a take-over waits for a slot before it counts as a lost race: well within the
  // elector's own request timeout, so that waiting never reads as a fault.
  const requestTimeout = options.requestTimeout ?? Math.max(1000, (options.renewDeadline ?? DEFAULTS.renewDeadline) / 2);
  const patience = Math.min(options.retryPeriod ?? DEFAULTS.retryPeriod, requestTimeout) / 2;
  const clock = options.clock ?? systemClock;
  const slot = (signal: AbortSignal): Promise<boolean> =>
    new Promise((resolve) => {
      const done = (freed: boolean): void => {
        cancel();
        signal.removeEventListener("abort", giveUp);
        const index = waiting.indexOf(turn);
        if (index !== -1) waiting.splice(index, 1);
        resolve(freed);
      };
      const turn = (): void => done(true);
      const giveUp = (): void => done(false);
      const cancel = clock.setTimer(clock.now() + patience, giveUp);
      waiting.push(turn);
      signal.addEventListener("abort", giveUp, { once: true });
    });

  const capped = (name: string, lock: Lock): Lock => {
    const claim = async (record: LeaderElectionRecord, signal: AbortSignal, write: () => Promise<Snapshot>) => {
      if (record.holderIdentity !== identity || claims.has(name)) return write(); // a renew, a release, or a claim already counted
      // At the cap: wait a little for a slot (take-overs in flight often lose their race), else refuse.
      while (claims.size >= maxHeld) {
        if (maxHeld === 0 || signal.aborted || !(await slot(signal))) {
          throw new LockError("Conflict", `${lock.description}: not taken, this replica leads its cap of ${maxHeld} leases`);
        }
      }
      claims.add(name);
      try {
        return await write();
      } catch (error) {
        if (!leading.has(name)) release(name);
        throw error;
      }
    };
    return {
      description: lock.description,
      get: (signal) => lock.get(signal),
      create: (record, signal) => claim(record, signal, () => lock.create(record, signal)),
      update: (record, version, signal) => claim(record, signal, () => lock.update(record, version, signal)),
      ...(lock.watch === undefined ? {} : { watch: lock.watch }),
    };
  };

  const electors = new Map<string, Elector>();
  for (const name of names) {
    electors.set(name, createElector({
      ...options,
      lock: capped(name, leases.lock(name)),
      name,
      rejoin: true,
      watch: true,
      onStartedLeading: (signal, term) => {
        leading.add(name);
        claims.add(name);
        signal.addEventListener("abort", () => {
          leading.delete(name);
          release(name);
          options.onStoppedLeading?.(name);
        }, { once: true });
        return options.onStartedLeading(name, signal, term);
      },
      onStoppedLeading: () => {},
      onNewLeader: (holder) => options.onNewLeader?.(name, holder),
    }));
  }

  let started = false;
  return {
    run: async (signal) => {
      if (started) throw new Error("run may be called only once");
      started = true;
      const stop = new AbortController();
      const forward = (): void => stop.abort(signal?.reason);
      if (signal?.aborted) return;
      signal?.addEventListener("abort", forward, { once: true });
      let failure: { readonly cause: unknown } | undefined;
      try {
        const synced = await leases.start(stop.signal).then(() => true, (error: unknown) => {
          if (!stop.signal.aborted) throw error;
          return false;
        });
        // One failing callback ends the whole run, as it ends a single elector's.
        if (synced) {
          // Each replica starts its electors in its own random order, so that replicas starting
          // together (each up to its cap) claim different leases first instead of racing for the same.
          await Promise.all(shuffled([...electors.values()], options.random ?? Math.random).map((elector) =>
            elector.run(stop.signal).catch((cause: unknown) => {
              failure ??= { cause };
              stop.abort(cause);
            })
          ));
        }
      } finally {
        stop.abort();
        signal?.removeEventListener("abort", forward);
      }
      if (failure !== undefined) throw failure.cause;
    },
    owner: (key) => {
      const lease = names[bucketOf(key, names.length)] as string;
      const sighting = leases.seen(lease);
      const record = sighting?.snapshot.record;
      const now = clock.now();
      const current = record !== undefined && record.holderIdentity !== "" &&
        now < (sighting as { at: number }).at + record.leaseDurationSeconds * 1000;
      return { lease, holder: current ? record.holderIdentity : undefined };
    },
    held: () => [...leading],
    isLeader: (lease) => electors.get(lease)?.isLeader() ?? false,
  };
};

/** Fisher-Yates. */
const shuffled = <T>(items: T[], random: () => number): T[] => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
};
