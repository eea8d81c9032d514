/**
 * A Lock on a MemoryLeaseStore, with failures you can inject per operation: errors before or
 * after the server applied the request, delays, hung requests, and watch latency.
 *
 * @module
 */
import type { Clock } from "../../src/clock.ts";
import type { Lock, LockErrorReason, LockEvent, LockVersion, Snapshot } from "../../src/lock.ts";
import { LockError } from "../../src/lock.ts";
import type { LeaderElectionRecord } from "../../src/record.ts";
import { type MemoryLeaseStore, type MemoryVersion, observedOf, type Sink, type StoredLease } from "./store.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

export type MemoryOp = "get" | "create" | "update" | "watch";

/** What goes wrong with one operation. */
export interface Fault {
  /** The operations it applies to; all when omitted. */
  readonly ops?: readonly MemoryOp[];
  /** How many operations it applies to; all from now on when omitted. */
  readonly times?: number;
  /** Milliseconds before the server sees the request. */
  readonly delay?: number;
  /** Milliseconds between the server applying the request and the caller hearing back. */
  readonly responseDelay?: number;
  /** Fail with this reason, before the server applies the request... */
  readonly error?: LockErrorReason;
  /** ...or after it did (the response was lost: the write happened, the caller thinks it failed). */
  readonly applied?: boolean;
  /** Never answer; only the caller's signal ends the wait. */
  readonly hang?: boolean;
  /** With `error`: milliseconds the server asks the caller to wait (a 429's Retry-After). */
  readonly retryAfter?: number;
  /**
   * For a watch: it opens, and then delivers nothing, ever, until the caller aborts it (a stuck
   * proxy, a half-open connection). Nothing tells the caller it is dead.
   */
  readonly silent?: boolean;
}

/** Decides per operation; return undefined for a clean one. */
export type FaultPlan = (op: MemoryOp) => Fault | undefined;

export interface MemoryLockOptions {
  readonly namespace: string;
  readonly name: string;
  /** Labels merged into the Lease on every write, as client-go's `NewWithLabels`. */
  readonly labels?: Record<string, string>;
  /** A name for this client in the store's operation log. */
  readonly client?: string;
  /** Milliseconds between a change and this lock's watch delivering it. Default 0. */
  readonly watchLatency?: number | (() => number);
  /** This client's time, for its delays and watch latency (a derived clock can stall). Default: the store's. */
  readonly clock?: Clock;
  /** Whether this lock offers watch at all. Default true. */
  readonly watch?: boolean;
}

export interface MemoryLock extends Lock {
  /** Adds a fault (or a plan that decides per operation); returns a function that removes it. */
  inject(fault: Fault | FaultPlan): () => void;
}

// -------------------------------------------------------------------------------------
// constructor
// -------------------------------------------------------------------------------------

export const memoryLock = (store: MemoryLeaseStore, options: MemoryLockOptions): MemoryLock =>
  options.watch === false ? new Unwatched(store, options) : new Watched(store, options);

/**
 * The Lock's methods are own properties, so that `{ ...memoryLock(...), extra }` is still a Lock;
 * the rest is on the prototype: a process may hold thousands of locks.
 */
class Unwatched implements MemoryLock {
  readonly description: string;
  protected readonly store: MemoryLeaseStore;
  protected readonly options: MemoryLockOptions;
  protected readonly clock: Clock;
  readonly #labels: Record<string, string>;
  #faults: { plan: FaultPlan; left: number }[] | undefined;

  constructor(store: MemoryLeaseStore, options: MemoryLockOptions) {
    this.description = `${options.namespace}/${options.name}`;
    this.store = store;
    this.options = options;
    this.clock = options.clock ?? store.clock;
    this.#labels = options.labels ?? {};
  }

  readonly inject = (fault: Fault | FaultPlan): (() => void) => {
    const entry = { plan: typeof fault === "function" ? fault : matching(fault), left: typeof fault === "function" ? Infinity : fault.times ?? Infinity };
    const faults = (this.#faults ??= []);
    faults.push(entry);
    return () => {
      const index = faults.indexOf(entry);
      if (index !== -1) faults.splice(index, 1); // a second call must not remove another fault
    };
  };

  readonly get = (signal: AbortSignal): Promise<Snapshot> =>
    this.#serve("get", signal, () => this.store.get(this.options.namespace, this.options.name));

  readonly create = (record: LeaderElectionRecord, signal: AbortSignal): Promise<Snapshot> =>
    this.#serve("create", signal, () => this.store.create(this.options.namespace, this.options.name, record, this.#labels));

  readonly update = (record: LeaderElectionRecord, version: LockVersion, signal: AbortSignal): Promise<Snapshot> =>
    this.#serve("update", signal, () =>
      this.store.update(this.options.namespace, this.options.name, record, version as MemoryVersion | undefined, this.#labels));

  protected take(op: MemoryOp): Fault | undefined {
    for (const entry of this.#faults ?? []) {
      const fault = entry.plan(op);
      if (fault === undefined || entry.left <= 0) continue;
      entry.left--;
      return fault;
    }
    return undefined;
  }

  protected log(op: MemoryOp, result: string): void {
    this.store.log(op, this.description, this.options.client, result);
  }

  protected pause(ms: number | undefined, signal: AbortSignal, forever = false): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(aborted(signal));
      if (!forever && !ms) return resolve();
      const cancel = forever ? () => {} : this.clock.setTimer(this.clock.now() + (ms as number), () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      const onAbort = (): void => (cancel(), reject(aborted(signal)));
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * One request: the fault's delay, the server applying it (or not), the response's delay. Without
   * a fault, at once: the store answers in the same turn, as fast as the elector can ask.
   */
  #serve(op: Exclude<MemoryOp, "watch">, signal: AbortSignal, apply: () => StoredLease): Promise<Snapshot> {
    const fault = this.#faults === undefined ? undefined : this.take(op);
    if (fault !== undefined) return this.#serveFaulty(op, signal, apply, fault);
    if (signal.aborted) return Promise.reject(aborted(signal));
    try {
      const lease = apply();
      this.log(op, "ok");
      return Promise.resolve(observedOf(lease));
    } catch (error) {
      this.log(op, (error as LockError).reason);
      return Promise.reject(error);
    }
  }

  async #serveFaulty(op: Exclude<MemoryOp, "watch">, signal: AbortSignal, apply: () => StoredLease, fault: Fault): Promise<Snapshot> {
    await this.pause(fault.delay, signal);
    if (fault.hang) await this.pause(undefined, signal, true);
    if (fault.error !== undefined && !fault.applied) {
      this.log(op, fault.error);
      throw injected(fault, op, false);
    }
    let lease: StoredLease;
    try {
      lease = apply();
    } catch (error) {
      this.log(op, (error as LockError).reason);
      await this.pause(fault.responseDelay, signal);
      throw error;
    }
    this.log(op, "ok");
    await this.pause(fault.responseDelay, signal);
    if (fault.error !== undefined) throw injected(fault, op, true);
    return observedOf(lease);
  }
}

class Watched extends Unwatched {
  readonly watch = async (version: LockVersion | undefined, signal: AbortSignal): Promise<AsyncIterable<LockEvent>> => {
    const fault = this.take("watch") ?? {};
    await this.pause(fault.delay, signal);
    if (fault.hang) await this.pause(undefined, signal, true);
    if (fault.error !== undefined) {
      this.log("watch", fault.error);
      throw injected(fault, "watch", false);
    }
    // Stopped while the request was on its way: an abort listener added now would never fire.
    if (signal.aborted) throw aborted(signal);
    const channel = new Channel(this.clock, this.options.watchLatency);
    const from = (version as MemoryVersion | undefined)?.resourceVersion;
    let unsubscribe: (() => void) | undefined;
    try {
      if (!fault.silent) unsubscribe = this.store.subscribe(this.options.namespace, this.options.name, from, channel);
    } catch (error) {
      this.log("watch", (error as LockError).reason);
      throw error;
    }
    this.log("watch", "ok");
    channel.attach(signal, unsubscribe);
    return channel;
  };
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

const matching = (fault: Fault): FaultPlan => (op) => (fault.ops === undefined || fault.ops.includes(op) ? fault : undefined);

const injected = (fault: Fault, op: MemoryOp, applied: boolean): LockError =>
  new LockError(fault.error as LockErrorReason, `injected ${fault.error} on ${op}${applied ? " after the server applied it" : ""}`, {
    retryAfter: fault.retryAfter,
  });

const aborted = (signal: AbortSignal): LockError =>
  signal.reason instanceof LockError ? signal.reason : new LockError("Timeout", "the request was aborted", { cause: signal.reason });

/**
 * A watch stream: delivers in order, each event after the lock's latency. Its methods live on the
 * prototype and it listens to the signal itself (`handleEvent`): an idle leader keeps one open.
 */
class Channel implements AsyncIterable<LockEvent>, AsyncIterator<LockEvent>, Sink, EventListenerObject {
  readonly #clock: Clock;
  readonly #latency: number | (() => number) | undefined;
  readonly #queue: LockEvent[] = [];
  #waiting: ((result: IteratorResult<LockEvent>) => void) | undefined;
  #failWaiting: ((error: unknown) => void) | undefined;
  #closed: { error: LockError | undefined } | undefined;
  #lastDelivery = -Infinity;
  /** Deliveries waiting out the latency: cancelled when the stream ends, so no timer outlives it. */
  #timers: Set<() => void> | undefined;
  #signal: AbortSignal | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(clock: Clock, latency: number | (() => number) | undefined) {
    this.#clock = clock;
    this.#latency = latency;
  }

  /**
   * Ends with `signal`. A stream the store ends must not leave its listener behind on a signal
   * the next watch reuses, so closing removes it, and the store's subscription.
   */
  attach(signal: AbortSignal, unsubscribe: (() => void) | undefined): void {
    this.#unsubscribe = unsubscribe;
    this.#signal = signal;
    signal.addEventListener("abort", this, { once: true });
  }

  push(event: LockEvent): void {
    if (this.#latency === undefined || this.#latency === 0) {
      // No latency: at once, unless an earlier event still waits out a latency set before.
      if (this.#lastDelivery <= this.#clock.now()) return this.#deliver(event);
    }
    this.#later(() => this.#deliver(event));
  }

  fail(error: LockError): void {
    this.#later(() => this.#close(error));
  }

  end(): void {
    this.#close(undefined);
  }

  /** The signal aborted. */
  handleEvent(): void {
    this.#close(undefined);
  }

  // Its own iterator: a stream is iterated once.
  [Symbol.asyncIterator](): AsyncIterator<LockEvent> {
    return this;
  }

  next(): Promise<IteratorResult<LockEvent>> {
    const event = this.#queue.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.#closed !== undefined) {
      return this.#closed.error ? Promise.reject(this.#closed.error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<LockEvent>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  // Keeps order: an event never overtakes the one before it, whatever the latency.
  #later(run: () => void): void {
    const clock = this.#clock;
    const latency = this.#latency;
    const at = Math.max(this.#lastDelivery, clock.now() + (typeof latency === "function" ? latency() : latency ?? 0));
    this.#lastDelivery = at;
    if (at <= clock.now()) return run();
    const timers = (this.#timers ??= new Set());
    const cancel = clock.setTimer(at, () => (timers.delete(cancel), run()));
    timers.add(cancel);
  }

  #deliver(event: LockEvent): void {
    if (this.#closed !== undefined) return;
    const waiting = this.#waiting;
    this.#waiting = this.#failWaiting = undefined;
    if (waiting) waiting({ value: event, done: false });
    else this.#queue.push(event);
  }

  #close(error: LockError | undefined): void {
    if (this.#closed !== undefined) return;
    this.#closed = { error };
    this.#unsubscribe?.();
    this.#signal?.removeEventListener("abort", this);
    for (const cancel of this.#timers ?? []) cancel();
    this.#timers = undefined;
    const waiting = this.#waiting;
    const failWaiting = this.#failWaiting;
    this.#waiting = this.#failWaiting = undefined;
    if (error && failWaiting) failWaiting(error);
    else waiting?.({ value: undefined, done: true });
  }
}
