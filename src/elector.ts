/**
 * The driver: runs the pure protocol against a Lock and a Clock, carries out its commands
 * (requests with timeouts, the watch, callbacks) and feeds the results back in.
 *
 * Callbacks that throw or reject never wedge the elector: it stops leading (releasing the lease
 * if configured, once the work has settled), calls onStoppedLeading, and `run` rejects with the
 * first failure.
 *
 * @module
 */
import type { Outcome, Request } from "./protocol/attempt.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type ElectorOptions, parseSettings, type Settings, type Term } from "./config.ts";
import { checkHealth, type ElectorMetrics, metricsOf } from "./health.ts";
import { type Lock, LockError, type LockVersion, type Snapshot, reasonOf } from "./lock.ts";
import { type Command, type Event, initial, leading, type Loss, nextWake, type State, step } from "./protocol.ts";
import { keepWatching, type Watching } from "./watcher.ts";
import { type Candidacy, candidacyOf } from "./candidacy.ts";
import { type EventLog, eventLogOf } from "./leadership-events.ts";
import { TenureError } from "./errors.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

export interface Elector {
  /**
   * Campaigns, leads and stops leading; resolves when the election is over: when `signal` aborts,
   * or (unless `rejoin`) when leadership is lost. Callable once, like client-go's Run.
   * Rejects with the cause when a callback failed.
   *
   * Callbacks: `onNewLeader` whenever the observed holder differs from the one last reported
   * (ourselves when we win, `""` after a release). Per term, `onStartedLeading(signal, term)`, and
   * `signal` aborts when that term ends; with `rejoin` the next term starts only after the last
   * one's `onStartedLeading` has settled. `onStoppedLeading` once, when `run` ends, led or not.
   */
  run(signal?: AbortSignal): Promise<void>;
  /** True only while leading and within renewDeadline of the last successful renew, checked now. */
  isLeader(): boolean;
  /** The holder as last observed, or undefined when nobody holds the lease. */
  leader(): string | undefined;
  /** client-go's healthz check: an Error when we lead but renewed nothing for leaseDuration + tolerance. */
  check(tolerance?: number): Error | undefined;
  /** Fencing information while leading; undefined otherwise. */
  readonly term: Term | undefined;
  metrics(): ElectorMetrics;
}

/** The reason a leader's signal is aborted: `loss` says why. */
export class LeadershipLostError extends TenureError {
  override readonly name: string = "LeadershipLostError";
  readonly loss: Loss;
  constructor(lock: string, loss: Loss) {
    // "stopped leading ns/name: renewDeadline"; `loss` has the rest (the new holder, "" after a release).
    super(`stopped leading ${lock}: ${loss._tag}`);
    this.loss = loss;
  }
}

// -------------------------------------------------------------------------------------
// constructor
// -------------------------------------------------------------------------------------

/** Validates the options (throwing one ConfigError that lists every problem) and builds an elector. */
export const createElector = (options: ElectorOptions): Elector => {
  const parsed = parseSettings(options);
  if (parsed._tag === "Left") throw parsed.left;
  return new Driver(parsed.right, options);
};

/**
 * A class rather than a closure: its methods live once, on the prototype, where a closure made
 * two dozen functions per elector (about 1.4 KB; a process may hold thousands). Its state is
 * private all the same (`#`).
 */
class Driver implements Elector {
  readonly #settings: Settings;
  readonly #options: ElectorOptions;
  readonly #lock: Lock;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #name: string;
  #state: State = initial;
  #queued: Event[] | undefined;
  #busy = false;
  // One timer, for the protocol's next wake-up (a renew, a retry, a request's deadline).
  #timerAt: number | undefined;
  #cancelTimer: (() => void) | undefined;
  // At most one request is in flight; the protocol times it out (its deadline is a wake-up).
  #inflight: { readonly id: number; readonly controller: AbortController } | undefined;
  // Requests share a signal until one is aborted, or for SIGNAL_USES requests (see there).
  #controller: AbortController | undefined;
  #uses = 0;
  #leaderControl: AbortController | undefined;
  #stopWatching: Watching | undefined;
  #settle: { resolve: () => void; reject: (cause: unknown) => void; signal: AbortSignal | undefined; stop: () => void } | undefined;
  #started = false;
  // Beside the election, never in its way: the coordinated candidate and leadership events.
  #candidacy: Candidacy | undefined;
  #events: EventLog | undefined;

  constructor(settings: Settings, options: ElectorOptions) {
    this.#settings = settings;
    this.#options = options;
    this.#lock = options.lock;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#name = options.name ?? options.lock.description;
  }

  run(signal?: AbortSignal): Promise<void> {
    if (this.#started) {
      return Promise.reject(new Error("run may be called only once"));
    }
    this.#started = true;
    const warn = (error: unknown): void => this.#warn(error);
    this.#events = eventLogOf(this.#lock, this.#settings, () => this.#state.version, warn);
    this.#candidacy = candidacyOf(this.#lock, this.#settings, warn);
    return new Promise<void>((resolve, reject) => {
      const stop = (): void => this.#dispatch({ _tag: "Stop" });
      this.#settle = { resolve, reject, signal, stop };
      if (signal) onAbort(signal, stop);
      this.#dispatch({ _tag: "Start" });
      if (signal?.aborted) stop();
    });
  }

  isLeader(): boolean {
    return leading(this.#state, this.#clock.now());
  }

  leader(): string | undefined {
    return this.#state.observation?.record.holderIdentity || undefined;
  }

  check(tolerance = 0): Error | undefined {
    return checkHealth(this.#settings, this.#name, this.#state, this.#clock.now(), tolerance);
  }

  get term(): Term | undefined {
    const phase = this.#state.phase;
    return phase._tag === "leader" && this.isLeader() ? phase.term : undefined;
  }

  metrics(): ElectorMetrics {
    return metricsOf(this.#name, this.#state, this.#clock.now(), this.isLeader());
  }

  // Events that arrive while one is handled (a callback that re-enters: a throwing onNewLeader)
  // wait in `queued`, so that they run in order.
  #dispatch(event: Event): void {
    if (this.#busy) {
      (this.#queued ??= []).push(event);
      return;
    }
    this.#busy = true;
    try {
      for (let next: Event | undefined = event; next !== undefined; next = this.#queued?.shift()) {
        const clock = this.#clock;
        const now = { mono: clock.now(), wall: clock.wall(), random: this.#random() };
        const before = this.#state;
        const [after, commands] = step(this.#settings, before, next, now);
        this.#state = after;
        this.#events?.observe(before, after);
        for (const command of commands) this.#execute(command);
      }
      this.#queued = undefined;
      this.#reschedule();
    } finally {
      this.#busy = false;
    }
  }

  #reschedule(): void {
    const now = this.#clock.now();
    const at = nextWake(this.#state);
    // A signal is kept for the next requests only while they come soon (see SIGNAL_USES).
    if (this.#inflight === undefined && (at === undefined || at - now > SIGNAL_IDLE)) this.#controller = undefined;
    // A timer due no later than `at` stays: the wake-up finds nothing due and arms the timer again.
    // One timer per renew instead of three (armed for the request, cancelled at its answer, re-armed).
    // No wake-up (`at` undefined) only once the run is over, when `#close` cancels the timer.
    if ((this.#timerAt ?? Infinity) <= (at ?? Infinity)) return;
    this.#cancelTimer?.();
    // A request's deadline is rarely what we wake for: its answer comes first, and a leader's next
    // renew is due retryPeriod after this one was sent, so the timer is armed for that.
    const wakeAt = this.#state.request === undefined ? at as number : Math.min(at as number, now + this.#settings.retryPeriod);
    this.#timerAt = wakeAt;
    this.#cancelTimer = this.#clock.setTimer(wakeAt, () => {
      this.#timerAt = this.#cancelTimer = undefined;
      this.#dispatch(WAKE);
    });
  }

  #execute(command: Command): void {
    switch (command._tag) {
      case "Send":
        return this.#send(command.id, command.request);
      case "Cancel":
        return this.#cancel(command.id);
      case "TimedOut": {
        const error = new LockError("Timeout", `${command.op} on ${this.#lock.description} timed out after ${Math.round(command.timeout)} ms`);
        // Our own deadline, so that a Lock ignoring its signal still cannot hold the elector up.
        this.#cancel(command.id, error);
        return this.#warn(error);
      }
      case "Watch":
        return this.#watch(command.from);
      case "CheckWatch":
        return this.#stopWatching?.check();
      case "NewLeader":
        return this.#callback(() => this.#options.onNewLeader?.(command.identity));
      case "StartLeading":
        this.#events?.record("became leader");
        return this.#startLeading(command.term);
      case "StopLeading":
        return this.#leaderControl?.abort(new LeadershipLostError(this.#lock.description, command.loss));
      case "End":
        return this.#close(command.failure);
    }
  }

  #send(id: number, request: Request): void {
    // A request the protocol stopped waiting for (its write was confirmed by the watch's echo) was
    // left to finish; by the next request it has had its chance.
    this.#inflight?.controller.abort();
    let controller = this.#controller;
    if (controller === undefined || controller.signal.aborted || this.#uses === SIGNAL_USES) {
      this.#controller = controller = new AbortController();
      this.#uses = 0;
    }
    this.#uses++;
    const current = { id, controller };
    this.#inflight = current;
    // Leaving: the candidate is withdrawn before the lease is released, or the coordinator may
    // hand the lease straight back to us.
    const lock = this.#lock;
    const signal = controller.signal;
    const candidacy = this.#candidacy;
    const sent = candidacy !== undefined && this.#state.stopping !== undefined && request.op === "update" && request.record.holderIdentity === ""
      ? candidacy.withdraw().then(() => call(lock, request, signal))
      : call(lock, request, signal);
    // An answer the protocol no longer awaits (the watch's echo confirmed the write) changes
    // nothing: it is not stepped through.
    sent.then(
      (snapshot) => {
        if (this.#inflight !== current) return;
        this.#inflight = undefined;
        if (this.#state.request?.id === id) this.#dispatch({ _tag: "Result", id, outcome: { _tag: "ok", snapshot } });
      },
      (error: unknown) => {
        if (this.#inflight !== current) return;
        this.#inflight = undefined;
        this.#warn(error);
        if (this.#state.request?.id === id) this.#dispatch({ _tag: "Result", id, outcome: failure(error) });
      },
    );
  }

  /** Tells onError about faults; lost races and missing objects are the protocol working. */
  #warn(error: unknown): void {
    const reason = reasonOf(error);
    if (reason === "Conflict" || reason === "AlreadyExists" || reason === "NotFound") return;
    const lockError = error instanceof LockError ? error : new LockError(reason, messageOf(error), { cause: error });
    this.#callback(() => this.#options.onError?.(lockError));
  }

  #cancel(id: number, reason?: unknown): void {
    const inflight = this.#inflight;
    if (inflight?.id !== id) return;
    this.#inflight = undefined;
    inflight.controller.abort(reason); // its outcome is ignored, whatever the reason says
  }

  #watch(from: LockVersion): void {
    const lock = this.#lock;
    if (lock.watch === undefined || this.#stopWatching !== undefined) return;
    this.#stopWatching = keepWatching(lock as Required<Lock>, from, this.#clock, this.#settings.retryPeriod, {
      changed: (snapshot) => this.#dispatch({ _tag: "Changed", snapshot }),
      health: (active) => this.#dispatch({ _tag: "WatchHealth", active }),
      failed: (error) => this.#warn(error),
    });
  }

  #callback(run: () => void): void {
    try {
      run();
    } catch (cause) {
      this.#dispatch({ _tag: "Stop", failure: { cause } });
    }
  }

  #startLeading(term: Term): void {
    const control = new AbortController();
    this.#leaderControl = control;
    // Asynchronously, as client-go's goroutine: leadership does not end when the work returns.
    Promise.resolve()
      .then(() => this.#options.onStartedLeading(control.signal, term))
      .then(
        () => this.#dispatch({ _tag: "WorkSettled" }),
        (cause: unknown) => {
          this.#dispatch({ _tag: "Stop", failure: { cause } });
          this.#dispatch({ _tag: "WorkSettled" });
        },
      );
  }

  /** The run is over: stops everything and settles `run`. */
  #close(failure: { readonly cause: unknown } | undefined): void {
    this.#stopWatching?.();
    this.#cancelTimer?.();
    this.#timerAt = this.#cancelTimer = undefined;
    if (this.#inflight !== undefined) this.#cancel(this.#inflight.id);
    let cause = failure;
    try {
      this.#options.onStoppedLeading();
    } catch (error) {
      cause ??= { cause: error };
    }
    const done = this.#settle;
    this.#settle = undefined;
    if (done?.signal) forget(done.signal, done.stop);
    // Nothing outlives run(): the candidate is withdrawn and the last event written (both bounded) first.
    void Promise.all([this.#candidacy?.withdraw(), this.#events?.settled()]).then(() => {
      if (cause === undefined) done?.resolve();
      else done?.reject(cause.cause);
    });
  }
}

const WAKE: Event = { _tag: "Wake" };

/**
 * How many requests may share one AbortSignal. Creating a signal costs about 5 µs on Node 20
 * (0.1 µs on Node 24), more than the rest of a renew, and slows the renews after it (one signal
 * every 64 renews cost about 0.3 µs per renew on Node 20); but fetch implementations add a listener
 * to the signal per request and drop it only at garbage collection, so a signal is not kept
 * forever. undici (Node's fetch) expects that reuse: it lifts a signal's listener limit to 1500.
 * Nor is a signal kept across a long wait (SIGNAL_IDLE ms or more before the next request): it
 * takes about 0.8 KB on Node 20, and an idle elector should not hold one.
 */
const SIGNAL_USES = 1000;
const SIGNAL_IDLE = 5_000;

// One listener per signal however many electors share it: Node warns past ten on one target.
const stops = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `stop` when `signal` aborts, unless forgotten first. */
const onAbort = (signal: AbortSignal, stop: () => void): void => {
  let all = stops.get(signal);
  if (!all) {
    const fresh = new Set<() => void>();
    stops.set(signal, (all = fresh));
    signal.addEventListener("abort", () => fresh.forEach((f) => f()), { once: true });
  }
  all.add(stop);
};

const forget = (signal: AbortSignal, stop: () => void): void => void stops.get(signal)?.delete(stop);

/** Starts the request; a Lock that throws instead of rejecting fails it all the same. */
const call = (lock: Lock, request: Request, signal: AbortSignal): Promise<Snapshot> => {
  try {
    return Promise.resolve(
      request.op === "get"
        ? lock.get(signal)
        : request.op === "create"
        ? lock.create(request.record, signal)
        : lock.update(request.record, request.version, signal),
    );
  } catch (error) {
    return Promise.reject(error);
  }
};

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const failure = (error: unknown): Outcome => ({
  _tag: "error",
  reason: reasonOf(error),
  message: messageOf(error),
  retryAfter: (error as Partial<LockError> | undefined)?.retryAfter,
});
