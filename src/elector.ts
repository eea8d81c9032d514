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
import type { Outcome, Request } from "./attempt.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type ElectorOptions, parseSettings, type Settings, type Term } from "./config.ts";
import { checkHealth, type ElectorMetrics, metricsOf } from "./health.ts";
import { type Lock, LockError, type LockVersion, type Observed, reasonOf } from "./lock.ts";
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
    super(`stopped leading ${lock}: ${loss.kind}`);
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

interface InFlight {
  readonly controller: AbortController;
  readonly cancelTimer: () => void;
}

// A closure rather than a class: its state is private by construction, and it minifies.
const drive = (settings: Settings, options: ElectorOptions): Elector => {
  const lock: Lock = options.lock;
  const clock: Clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const name = options.name ?? lock.description;
  let state: State = initial;
  const queue: Event[] = [];
  let busy = false;
  let timer: { readonly at: number; readonly cancel: () => void } | undefined;
  const requests = new Map<number, InFlight>();
  let leaderControl: AbortController | undefined;
  let stopWatching: Watching | undefined;
  let settle: { resolve: () => void; reject: (cause: unknown) => void; detach: () => void } | undefined;
  let started = false;
  // Beside the election, never in its way: the coordinated candidate and leadership events.
  let candidacy: Candidacy | undefined;
  let events: EventLog | undefined;

  const isLeader = (): boolean => leading(state, clock.now());

  // Events are queued so that callbacks which re-enter (a throwing onNewLeader) run in order.
  const dispatch = (event: Event): void => {
    queue.push(event);
    if (busy) return;
    busy = true;
    try {
      while (queue.length > 0) {
        const now = { mono: clock.now(), wall: clock.wall(), random: random() };
        const before = state;
        const [after, commands] = step(settings, state, queue.shift() as Event, now);
        state = after;
        events?.observe(before, after);
        for (const command of commands) execute(command, now.mono);
      }
      reschedule();
    } finally {
      busy = false;
    }
  };

  const reschedule = (): void => {
    const at = nextWake(state);
    if (at === timer?.at) return;
    timer?.cancel();
    timer = undefined;
    if (at === undefined) return;
    const cancel = clock.setTimer(at, () => {
      timer = undefined;
      dispatch({ _tag: "Wake" });
    });
    timer = { at, cancel };
  };

  const execute = (command: Command, mono: number): void => {
    switch (command._tag) {
      case "Send":
        return send(command.id, command.request, command.timeout, mono);
      case "Cancel":
        return cancel(command.id);
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
      case "Finish":
        return finish(command.failure);
    }
  };

  const send = (id: number, request: Request, timeout: number, mono: number): void => {
    const controller = new AbortController();
    const done = (outcome: Outcome): void => {
      const inflight = requests.get(id);
      if (inflight === undefined) return;
      requests.delete(id);
      inflight.cancelTimer();
      dispatch({ _tag: "Result", id, outcome });
    };
    // Our own timer, so that a Lock ignoring its signal still cannot hold the elector up.
    const cancelTimer = clock.setTimer(mono + timeout, () => {
      const error = new LockError("Timeout", `${request.op} on ${lock.description} timed out after ${Math.round(timeout)} ms`);
      controller.abort(error);
      report(error);
      done(failure(error));
    });
    requests.set(id, { controller, cancelTimer });
    // Leaving: the candidate is withdrawn before the lease is released, or the coordinator may
    // hand the lease straight back to us.
    const ready = candidacy !== undefined && state.stopping && request.op === "update" && request.record.holderIdentity === ""
      ? candidacy.withdraw()
      : Promise.resolve();
    ready.then(() => call(lock, request, controller.signal)).then(
      (observed) => done({ ok: true, observed }),
      (error: unknown) => {
        if (requests.has(id)) report(error);
        done(failure(error));
      },
    );
  };

  /** Tells onError about faults; lost races and missing objects are the protocol working. */
  const report = (error: unknown): void => {
    const reason = reasonOf(error);
    if (["Conflict", "AlreadyExists", "NotFound"].includes(reason)) return;
    const lockError = error instanceof LockError ? error : new LockError(reason, messageOf(error), { cause: error });
    callback(() => options.onError?.(lockError));
  };

  const cancel = (id: number): void => {
    const inflight = requests.get(id);
    requests.delete(id);
    inflight?.cancelTimer();
    inflight?.controller.abort(); // its outcome is ignored, whatever the reason says
  };

  const watch = (from: LockVersion): void => {
    if (lock.watch === undefined || stopWatching !== undefined) return;
    stopWatching = keepWatching(lock as Required<Lock>, from, clock, settings.retryPeriod, {
      seen: (observed) => dispatch({ _tag: "Seen", observed }),
      health: (active) => dispatch({ _tag: "WatchHealth", active }),
      failed: report,
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

  const finish = (failure: { readonly cause: unknown } | undefined): void => {
    stopWatching?.();
    timer?.cancel();
    timer = undefined;
    requests.forEach((_, id) => cancel(id)); // deleting the entry visited is safe
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
      events = eventLogOf(lock, settings, () => state.version, report);
      candidacy = candidacyOf(lock, settings, report);
      return new Promise<void>((resolve, reject) => {
        const stop = (): void => dispatch({ _tag: "Stop" });
        settle = { resolve, reject, detach: signal ? onAbort(signal, stop) : () => {} };
        dispatch({ _tag: "Start" });
        if (signal?.aborted) stop();
      });
    },
    isLeader,
    leader: () => state.observed?.record.holderIdentity || undefined,
    check: (tolerance = 0) => checkHealth(settings, name, state, clock.now(), tolerance),
    get term() {
      const phase = state.phase;
      return phase.tag === "leader" && isLeader() ? phase.term : undefined;
    },
    metrics: () => metricsOf(name, state, clock.now(), isLeader()),
  };
};

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

// In a `then`, so that a Lock that throws instead of rejecting fails the request all the same.
const call = (lock: Lock, request: Request, signal: AbortSignal): Promise<Observed> =>
  Promise.resolve().then(() =>
    request.op === "get"
      ? lock.get(signal)
      : request.op === "create"
      ? lock.create(request.record, signal)
      : lock.update(request.record, request.version, signal)
  );

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const failure = (error: unknown): Outcome => ({
  ok: false,
  reason: reasonOf(error),
  message: messageOf(error),
  retryAfter: (error as Partial<LockError> | undefined)?.retryAfter,
});
