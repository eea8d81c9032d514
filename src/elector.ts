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
import * as E from "fp-ts/lib/Either.js";
import type { Outcome } from "./attempt.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type ElectorOptions, parseSettings, type Settings, type Term } from "./config.ts";
import { checkHealth, type ElectorMetrics, metricsOf } from "./health.ts";
import { type Lock, LockError, type LockVersion, type Observed, reasonOf } from "./lock.ts";
import { type Command, type Event, initial, leading, type Loss, nextWake, type State, step } from "./protocol.ts";
import { keepWatching } from "./watcher.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

export interface Elector {
  /**
   * Campaigns, leads and stops leading; resolves when the election is over (when `signal` aborts,
   * or leadership is lost). One-shot, like client-go: create a new elector to campaign again.
   * Rejects with the cause when a callback failed.
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

/** The reason a leader's signal is aborted. */
export class LeadershipLostError extends Error {
  override readonly name: string = "LeadershipLostError";
  readonly loss: Loss;
  constructor(lock: string, loss: Loss) {
    super(`stopped leading ${lock}: ${describeLoss(loss)}`);
    this.loss = loss;
  }
}

const describeLoss = (loss: Loss): string => {
  switch (loss.kind) {
    case "stopped":
      return "the elector was stopped";
    case "renewDeadline":
      return "no renew succeeded within renewDeadline, so another candidate may take over";
    case "holder":
      return loss.holder === "" ? "the lease was released by someone else" : `${loss.holder} holds the lease now`;
    case "endOfTerm":
      return loss.why;
    case "failed":
      return "a callback failed";
  }
};

// -------------------------------------------------------------------------------------
// constructor
// -------------------------------------------------------------------------------------

/** Validates the options (throwing one ConfigError that lists every problem) and builds an elector. */
export const createElector = (options: ElectorOptions): Elector => {
  const parsed = parseSettings(options);
  if (E.isLeft(parsed)) throw parsed.left;
  return new Driver(parsed.right, options);
};

interface InFlight {
  readonly controller: AbortController;
  readonly cancelTimer: () => void;
}

class Driver implements Elector {
  readonly #settings: Settings;
  readonly #options: ElectorOptions;
  readonly #lock: Lock;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #name: string;
  #state: State = initial;
  #queue: Event[] = [];
  #busy = false;
  #timer: { readonly at: number; readonly cancel: () => void } | undefined;
  #requests = new Map<number, InFlight>();
  #leaderControl: AbortController | undefined;
  #stopWatching: (() => void) | undefined;
  #settle: { resolve: () => void; reject: (cause: unknown) => void; detach: () => void } | undefined;
  #started = false;

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
      return Promise.reject(new Error("run may be called only once: an elector is one-shot; create a new elector to campaign again"));
    }
    this.#started = true;
    return new Promise<void>((resolve, reject) => {
      const stop = (): void => this.#dispatch({ _tag: "Stop" });
      signal?.addEventListener("abort", stop, { once: true });
      this.#settle = { resolve, reject, detach: () => signal?.removeEventListener("abort", stop) };
      this.#dispatch({ _tag: "Start" });
      if (signal?.aborted) stop();
    });
  }

  isLeader(): boolean {
    return leading(this.#state, this.#clock.now());
  }

  leader(): string | undefined {
    const holder = this.#state.observed?.record.holderIdentity;
    return holder === undefined || holder === "" ? undefined : holder;
  }

  check(tolerance = 0): Error | undefined {
    return checkHealth(this.#settings, this.#name, this.#state, this.#clock.now(), tolerance);
  }

  get term(): Term | undefined {
    const phase = this.#state.phase;
    return phase.tag === "leader" && this.isLeader() ? phase.term : undefined;
  }

  metrics(): ElectorMetrics {
    return metricsOf(this.#name, this.#state, this.#clock.now(), this.isLeader());
  }

  // Events are queued so that callbacks which re-enter (a throwing onNewLeader) run in order.
  #dispatch(event: Event): void {
    this.#queue.push(event);
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        const now = { mono: this.#clock.now(), wall: this.#clock.wall(), random: this.#random() };
        const [state, commands] = step(this.#settings, this.#state, next, now);
        this.#state = state;
        for (const command of commands) this.#execute(command, now.mono);
      }
      this.#reschedule();
    } finally {
      this.#busy = false;
    }
  }

  #reschedule(): void {
    const at = nextWake(this.#state);
    if (at === this.#timer?.at) return;
    this.#timer?.cancel();
    this.#timer = undefined;
    if (at === undefined) return;
    const cancel = this.#clock.setTimer(at, () => {
      this.#timer = undefined;
      this.#dispatch({ _tag: "Wake" });
    });
    this.#timer = { at, cancel };
  }

  #execute(command: Command, mono: number): void {
    switch (command._tag) {
      case "Send":
        return this.#send(command.id, command.request, command.timeout, mono);
      case "Cancel":
        return this.#cancel(command.id);
      case "Watch":
        return this.#watch(command.from);
      case "NewLeader":
        return this.#callback(() => this.#options.onNewLeader?.(command.identity));
      case "StartLeading":
        return this.#startLeading(command.term);
      case "StopLeading":
        return this.#leaderControl?.abort(new LeadershipLostError(this.#lock.description, command.loss));
      case "Finish":
        return this.#finish(command.failure);
    }
  }

  #send(id: number, request: Extract<Command, { _tag: "Send" }>["request"], timeout: number, mono: number): void {
    const controller = new AbortController();
    const done = (outcome: Outcome): void => {
      const inflight = this.#requests.get(id);
      if (inflight === undefined) return;
      this.#requests.delete(id);
      inflight.cancelTimer();
      this.#dispatch({ _tag: "Result", id, outcome });
    };
    // Our own timer, so that a Lock ignoring its signal still cannot hold the elector up.
    const cancelTimer = this.#clock.setTimer(mono + timeout, () => {
      const error = new LockError("Timeout", `${request.op} on ${this.#lock.description} timed out after ${Math.round(timeout)} ms`);
      controller.abort(error);
      this.#report(error);
      done(failure(error));
    });
    this.#requests.set(id, { controller, cancelTimer });
    call(this.#lock, request, controller.signal).then(
      (observed) => done({ ok: true, observed }),
      (error: unknown) => {
        if (this.#requests.has(id)) this.#report(error);
        done(failure(error));
      },
    );
  }

  /** Tells onError about faults; lost races and missing objects are the protocol working. */
  #report(error: unknown): void {
    const reason = reasonOf(error);
    if (reason === "Conflict" || reason === "AlreadyExists" || reason === "NotFound") return;
    const lockError = error instanceof LockError ? error : new LockError(reason, error instanceof Error ? error.message : String(error), { cause: error });
    this.#callback(() => this.#options.onError?.(lockError));
  }

  #cancel(id: number): void {
    const inflight = this.#requests.get(id);
    this.#requests.delete(id);
    inflight?.cancelTimer();
    inflight?.controller.abort(new LockError("Timeout", "request cancelled: the elector moved on"));
  }

  #watch(from: LockVersion): void {
    const lock = this.#lock;
    if (lock.watch === undefined || this.#stopWatching !== undefined) return;
    this.#stopWatching = keepWatching({ watch: lock.watch.bind(lock) }, from, this.#clock, this.#settings.retryPeriod, {
      seen: (observed) => this.#dispatch({ _tag: "Seen", observed }),
      health: (active) => this.#dispatch({ _tag: "WatchHealth", active }),
      failed: (error) => this.#report(error),
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

  #finish(failure: { readonly cause: unknown } | undefined): void {
    this.#stopWatching?.();
    this.#timer?.cancel();
    this.#timer = undefined;
    for (const id of [...this.#requests.keys()]) this.#cancel(id);
    let cause = failure;
    try {
      this.#options.onStoppedLeading();
    } catch (error) {
      cause ??= { cause: error };
    }
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.detach();
    if (cause === undefined) settle?.resolve();
    else settle?.reject(cause.cause);
  }
}

const call = (lock: Lock, request: Extract<Command, { _tag: "Send" }>["request"], signal: AbortSignal): Promise<Observed> => {
  try {
    switch (request.op) {
      case "get":
        return lock.get(signal);
      case "create":
        return lock.create(request.record, signal);
      case "update":
        return lock.update(request.record, request.version, signal);
    }
  } catch (error) {
    return Promise.reject(error);
  }
};

const failure = (error: unknown): Outcome => {
  const message = error instanceof Error ? error.message : String(error);
  const retryAfter = error instanceof LockError ? error.retryAfter : undefined;
  return retryAfter === undefined
    ? { ok: false, reason: reasonOf(error), message }
    : { ok: false, reason: reasonOf(error), message, retryAfter };
};
