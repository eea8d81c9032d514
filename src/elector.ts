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
  return drive(parsed.right, options);
};

// A closure rather than a class: its state is private by construction, and it minifies.
const drive = (settings: Settings, options: ElectorOptions): Elector => {
  const lock: Lock = options.lock;
  const clock: Clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const name = options.name ?? lock.description;
  let state: State = initial;
  let queued: Event[] | undefined;
  let busy = false;
  // One timer, for the protocol's next wake-up (a renew, a retry, a request's deadline).
  let timerAt: number | undefined;
  let cancelTimer: (() => void) | undefined;
  // At most one request is in flight; the protocol times it out (its deadline is a wake-up).
  let inflight: { readonly id: number; readonly controller: AbortController } | undefined;
  // Requests share a signal until one is aborted, or for SIGNAL_USES requests (see there).
  let controller: AbortController | undefined;
  let uses = 0;
  let leaderControl: AbortController | undefined;
  let stopWatching: Watching | undefined;
  let settle: { resolve: () => void; reject: (cause: unknown) => void; detach: () => void } | undefined;
  let started = false;
  // Beside the election, never in its way: the coordinated candidate and leadership events.
  let candidacy: Candidacy | undefined;
  let events: EventLog | undefined;

  const isLeader = (): boolean => leading(state, clock.now());

  // Events that arrive while one is handled (a callback that re-enters: a throwing onNewLeader)
  // wait in `queued`, so that they run in order.
  const dispatch = (event: Event): void => {
    if (busy) {
      (queued ??= []).push(event);
      return;
    }
    busy = true;
    try {
      for (let next: Event | undefined = event; next !== undefined; next = queued?.shift()) {
        const now = { mono: clock.now(), wall: clock.wall(), random: random() };
        const before = state;
        const [after, commands] = step(settings, state, next, now);
        state = after;
        events?.observe(before, after);
        for (const command of commands) execute(command);
      }
      queued = undefined;
      reschedule();
    } finally {
      busy = false;
    }
  };

  const wake = (): void => {
    timerAt = cancelTimer = undefined;
    dispatch(WAKE);
  };

  const reschedule = (): void => {
    const at = nextWake(state);
    // A signal is kept for the next requests only while they come soon (see SIGNAL_USES).
    if (inflight === undefined && (at === undefined || at - clock.now() > SIGNAL_IDLE)) controller = undefined;
    if (at === timerAt) return;
    cancelTimer?.();
    timerAt = at;
    cancelTimer = at === undefined ? undefined : clock.setTimer(at, wake);
  };

  const execute = (command: Command): void => {
    switch (command._tag) {
      case "Send":
        return send(command.id, command.request);
      case "Cancel":
        return cancel(command.id);
      case "TimedOut": {
        const error = new LockError("Timeout", `${command.op} on ${lock.description} timed out after ${Math.round(command.timeout)} ms`);
        // Our own deadline, so that a Lock ignoring its signal still cannot hold the elector up.
        cancel(command.id, error);
        return warn(error);
      }
      case "Watch":
        return watch(command.from);
      case "CheckWatch":
        return stopWatching?.check();
      case "NewLeader":
        return callback(() => options.onNewLeader?.(command.identity));
      case "StartLeading":
        events?.record("became leader");
        return startLeading(command.term);
      case "StopLeading":
        return leaderControl?.abort(new LeadershipLostError(lock.description, command.loss));
      case "End":
        return close(command.failure);
    }
  };

  const send = (id: number, request: Request): void => {
    // A request the protocol stopped waiting for (its write was confirmed by the watch's echo) was
    // left to finish; by the next request it has had its chance.
    inflight?.controller.abort();
    if (controller === undefined || controller.signal.aborted || uses === SIGNAL_USES) {
      controller = new AbortController();
      uses = 0;
    }
    uses++;
    const current = { id, controller };
    inflight = current;
    // Leaving: the candidate is withdrawn before the lease is released, or the coordinator may
    // hand the lease straight back to us.
    const signal = controller.signal;
    const sent = candidacy !== undefined && state.stopping !== undefined && request.op === "update" && request.record.holderIdentity === ""
      ? candidacy.withdraw().then(() => call(lock, request, signal))
      : call(lock, request, signal);
    sent.then(
      (snapshot) => {
        if (inflight !== current) return;
        inflight = undefined;
        dispatch({ _tag: "Result", id, outcome: { _tag: "ok", snapshot } });
      },
      (error: unknown) => {
        if (inflight !== current) return;
        inflight = undefined;
        warn(error);
        dispatch({ _tag: "Result", id, outcome: failure(error) });
      },
    );
  };

  /** Tells onError about faults; lost races and missing objects are the protocol working. */
  const warn = (error: unknown): void => {
    const reason = reasonOf(error);
    if (reason === "Conflict" || reason === "AlreadyExists" || reason === "NotFound") return;
    const lockError = error instanceof LockError ? error : new LockError(reason, messageOf(error), { cause: error });
    callback(() => options.onError?.(lockError));
  };

  const cancel = (id: number, reason?: unknown): void => {
    if (inflight?.id !== id) return;
    const { controller } = inflight;
    inflight = undefined;
    controller.abort(reason); // its outcome is ignored, whatever the reason says
  };

  const watch = (from: LockVersion): void => {
    if (lock.watch === undefined || stopWatching !== undefined) return;
    stopWatching = keepWatching(lock as Required<Lock>, from, clock, settings.retryPeriod, {
      changed: (snapshot) => dispatch({ _tag: "Changed", snapshot }),
      health: (active) => dispatch({ _tag: "WatchHealth", active }),
      failed: warn,
    });
  };

  const callback = (run: () => void): void => {
    try {
      run();
    } catch (cause) {
      dispatch({ _tag: "Stop", failure: { cause } });
    }
  };

  const startLeading = (term: Term): void => {
    const control = new AbortController();
    leaderControl = control;
    // Asynchronously, as client-go's goroutine: leadership does not end when the work returns.
    Promise.resolve()
      .then(() => options.onStartedLeading(control.signal, term))
      .then(
        () => dispatch({ _tag: "WorkSettled" }),
        (cause: unknown) => {
          dispatch({ _tag: "Stop", failure: { cause } });
          dispatch({ _tag: "WorkSettled" });
        },
      );
  };

  /** The run is over: stops everything and settles `run`. */
  const close = (failure: { readonly cause: unknown } | undefined): void => {
    stopWatching?.();
    cancelTimer?.();
    timerAt = cancelTimer = undefined;
    if (inflight !== undefined) cancel(inflight.id);
    let cause = failure;
    try {
      options.onStoppedLeading();
    } catch (error) {
      cause ??= { cause: error };
    }
    const done = settle;
    settle = undefined;
    done?.detach();
    // Nothing outlives run(): the candidate is withdrawn and the last event written (both bounded) first.
    void Promise.all([candidacy?.withdraw(), events?.settled()]).then(() => {
      if (cause === undefined) done?.resolve();
      else done?.reject(cause.cause);
    });
  };

  return {
    run: (signal) => {
      if (started) {
        return Promise.reject(new Error("run may be called only once"));
      }
      started = true;
      events = eventLogOf(lock, settings, () => state.version, warn);
      candidacy = candidacyOf(lock, settings, warn);
      return new Promise<void>((resolve, reject) => {
        const stop = (): void => dispatch({ _tag: "Stop" });
        settle = { resolve, reject, detach: signal ? onAbort(signal, stop) : () => {} };
        dispatch({ _tag: "Start" });
        if (signal?.aborted) stop();
      });
    },
    isLeader,
    leader: () => state.observation?.record.holderIdentity || undefined,
    check: (tolerance = 0) => checkHealth(settings, name, state, clock.now(), tolerance),
    get term() {
      const phase = state.phase;
      return phase._tag === "leader" && isLeader() ? phase.term : undefined;
    },
    metrics: () => metricsOf(name, state, clock.now(), isLeader()),
  };
};

const WAKE: Event = { _tag: "Wake" };

/**
 * How many requests may share one AbortSignal. Creating a signal costs about 2.4 µs on Node 20
 * (0.1 µs on Node 24), more than the rest of a renew; but fetch implementations add a listener to
 * the signal per request and drop it only at garbage collection, so a signal is not kept forever.
 * Nor across a long wait (SIGNAL_IDLE ms or more before the next request): a signal takes about
 * 0.8 KB on Node 20, and an idle elector should not hold one.
 */
const SIGNAL_USES = 64;
const SIGNAL_IDLE = 5_000;

// One listener per signal however many electors share it: Node warns past ten on one target.
const stops = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `stop` when `signal` aborts; returns what forgets it. */
const onAbort = (signal: AbortSignal, stop: () => void): (() => void) => {
  let all = stops.get(signal);
  if (!all) {
    const fresh = new Set<() => void>();
    stops.set(signal, (all = fresh));
    signal.addEventListener("abort", () => fresh.forEach((f) => f()), { once: true });
  }
  all.add(stop);
  return () => all.delete(stop);
};

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
