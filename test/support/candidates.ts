/**
 * Electors on a memory lock with a virtual clock, recording what each one's callbacks saw.
 */
import { createElector, type Elector, type ElectorOptions, type Term } from "../../src/index.ts";
import { type Fault, type FaultPlan, MemoryLeaseStore, type MemoryLock, memoryLock, type MemoryLockOptions } from "../../adapters/memory.ts";
import { VirtualClock } from "../../adapters/virtual-clock.ts";

export interface Candidate {
  readonly id: string;
  readonly elector: Elector;
  readonly lock: MemoryLock;
  readonly controller: AbortController;
  /** `[time, what]` for every callback. */
  readonly events: (readonly [number, string])[];
  /** The leader's signal, while it has one. */
  signal: AbortSignal | undefined;
  terms: Term[];
  /** The settled result of `run`: "resolved" or the rejection's message. */
  outcome: string | undefined;
  readonly done: Promise<void>;
}

export interface World {
  readonly clock: VirtualClock;
  readonly store: MemoryLeaseStore;
  /** Starts an elector at once; `faults` are injected before its first request. */
  candidate(id: string, options?: Partial<ElectorOptions>, lockOptions?: Partial<MemoryLockOptions>, faults?: (Fault | FaultPlan)[]): Candidate;
  /** The operations the store served, as `client:op` or `client:op(Reason)`, without watches. */
  ops(client?: string): string[];
}

export const world = (defaults: Partial<ElectorOptions> = {}): World => {
  const clock = new VirtualClock();
  const store = new MemoryLeaseStore({ clock });
  return {
    clock,
    store,
    candidate(id, options = {}, lockOptions = {}, faults = []) {
      const lock = memoryLock(store, { namespace: "foo", name: "bar", client: id, ...lockOptions });
      for (const fault of faults) lock.inject(fault);
      const controller = new AbortController();
      const events: (readonly [number, string])[] = [];
      const candidate: Candidate = {
        id,
        lock,
        controller,
        events,
        signal: undefined,
        terms: [],
        outcome: undefined,
        elector: createElector({
          lock,
          identity: id,
          clock,
          leaseDuration: 15_000,
          renewDeadline: 10_000,
          retryPeriod: 2_000,
          random: () => 0.5,
          onStartedLeading: (signal, term) => {
            candidate.signal = signal;
            candidate.terms.push(term);
            events.push([clock.now(), "started"]);
            signal.addEventListener("abort", () => events.push([clock.now(), "signal aborted"]));
          },
          onStoppedLeading: () => void events.push([clock.now(), "stopped"]),
          onNewLeader: (leader) => void events.push([clock.now(), `leader ${leader}`]),
          ...defaults,
          ...options,
        }),
        done: Promise.resolve(),
      };
      const done = candidate.elector.run(controller.signal).then(
        () => void (candidate.outcome = "resolved"),
        (error: unknown) => void (candidate.outcome = error instanceof Error ? error.message : String(error)),
      );
      return Object.assign(candidate, { done });
    },
    ops: (client) =>
      store.operations
        .filter((o) => o.op !== "watch" && (client === undefined || o.client === client))
        .map((o) => `${client === undefined ? `${o.client}:` : ""}${o.op}${o.result === "ok" ? "" : `(${o.result})`}`),
  };
};

/** When the first event with this text happened. */
export const when = (candidate: Candidate, what: string): number | undefined => candidate.events.find(([, w]) => w === what)?.[0];
