/**
 * Replicas of a sharded election on one memory store in virtual time: each its own process (clock,
 * shared list + watch, one elector per lease), killed (its clock stalls and its requests hang, as
 * a SIGKILLed process sends nothing more), stopped or restarted at will.
 */
import { type Fault, MemoryLeaseStore, memoryCollection, type MemoryCollection } from "../../adapters/memory.ts";
import { type DerivedClock, VirtualClock } from "../../adapters/virtual-clock.ts";
import { createShards, type Shards, watchLeases } from "../../src/shards/index.ts";

export const NAMESPACE = "shards";
export const LABELS = { "tenure.dev/set": "workers" } as const;
export const TIMING = { leaseDuration: 15_000, renewDeadline: 10_000, retryPeriod: 2_000 } as const;

export interface Replica {
  readonly id: string;
  readonly clock: DerivedClock;
  readonly shards: Shards;
  readonly collection: MemoryCollection;
  readonly controller: AbortController;
  /** Leases whose term signal has not been aborted. */
  readonly acting: Set<string>;
  /** The most leases it acted on at once. */
  mostActing: number;
  dead: boolean;
  ended: boolean;
  failure: unknown;
}

export interface FleetOptions {
  readonly names: readonly string[];
  readonly maxHeld?: number | undefined;
  readonly random?: () => number;
  /** Faults for every per-lease request of every replica. */
  readonly plan?: (replica: () => Replica) => () => Fault | undefined;
  readonly rate?: (slot: number) => number;
}

export class Fleet {
  readonly base: VirtualClock = new VirtualClock();
  readonly store: MemoryLeaseStore = new MemoryLeaseStore({ clock: this.base });
  readonly replicas: Replica[] = [];
  readonly #options: FleetOptions;
  #generation = 0;

  constructor(options: FleetOptions) {
    this.#options = options;
  }

  spawn(slot: number): Replica {
    const id = `r${slot}-${++this.#generation}`;
    const clock = this.base.derive(this.#options.rate?.(slot) ?? 1, (this.#options.random?.() ?? 0) * 1e6);
    const collection = memoryCollection(this.store, { namespace: NAMESPACE, labels: LABELS, client: id });
    const lockOf = collection.lock;
    let self: Replica | undefined;
    // Every lease's lock gets the faults (and, once killed, hangs).
    const plan = this.#options.plan?.(() => self as Replica);
    (collection as { lock: typeof lockOf }).lock = (name) => {
      const lock = lockOf(name);
      lock.inject(() => (self?.dead ? { hang: true } : plan?.()));
      return lock;
    };
    const acting = new Set<string>();
    const controller = new AbortController();
    const shards = createShards({
      leases: watchLeases(collection, { clock }),
      names: this.#options.names,
      maxHeld: this.#options.maxHeld,
      identity: id,
      clock,
      ...(this.#options.random === undefined ? {} : { random: this.#options.random }),
      ...TIMING,
      onStartedLeading: (lease, signal) => {
        acting.add(lease);
        replica.mostActing = Math.max(replica.mostActing, acting.size);
        signal.addEventListener("abort", () => acting.delete(lease), { once: true });
      },
    });
    const replica: Replica = { id, clock, shards, collection, controller, acting, mostActing: 0, dead: false, ended: false, failure: undefined };
    self = replica;
    this.replicas.push(replica);
    void shards.run(controller.signal).catch((error: unknown) => (replica.failure = error)).finally(() => (replica.ended = true));
    return replica;
  }

  /** As SIGKILL: nothing more leaves the process, nothing is released. */
  kill(replica: Replica): void {
    replica.dead = true;
    replica.clock.stall(Infinity);
  }

  live(): Replica[] {
    return this.replicas.filter((r) => !r.dead && !r.ended && !r.clock.stalled());
  }

  /** Per lease, the live replicas that believe they lead it (isLeader) and that act on it (signal). */
  leaders(): Map<string, { believers: string[]; acting: string[] }> {
    const out = new Map<string, { believers: string[]; acting: string[] }>();
    for (const name of this.#options.names) out.set(name, { believers: [], acting: [] });
    for (const replica of this.live()) {
      for (const name of this.#options.names) {
        const entry = out.get(name) as { believers: string[]; acting: string[] };
        if (replica.shards.isLeader(name)) entry.believers.push(replica.id);
        if (replica.acting.has(name)) entry.acting.push(replica.id);
      }
    }
    return out;
  }

  /** Two leaders of one lease at once, or a replica over its cap: what must never happen. */
  violations(): string[] {
    const out: string[] = [];
    for (const [name, { believers, acting }] of this.leaders()) {
      if (believers.length > 1) out.push(`${this.base.now()}: ${name}: isLeader() true in ${believers.join(", ")}`);
      if (acting.length > 1) out.push(`${this.base.now()}: ${name}: signals not aborted in ${acting.join(", ")}`);
    }
    const cap = this.#options.maxHeld;
    for (const replica of this.replicas) {
      if (cap !== undefined && replica.mostActing > cap) out.push(`${replica.id} acted on ${replica.mostActing} leases at once, cap ${cap}`);
      if (replica.failure !== undefined) out.push(`${replica.id}: run rejected: ${String(replica.failure)}`);
    }
    return out;
  }

  /** Every lease led by exactly one live replica. */
  allLed(): boolean {
    return [...this.leaders().values()].every((l) => l.believers.length === 1);
  }

  /** The store's requests for one lease from one client after `from` (an index into the log). */
  requests(client: string, from: number): { lease: string; op: string }[] {
    return this.store.operations.slice(from).filter((o) => o.client === client).map((o) => ({ lease: o.key.slice(NAMESPACE.length + 1), op: o.op }));
  }
}
