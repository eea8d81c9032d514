/**
 * The election as a pure step function: `(state, event, now) -> [state, commands]`.
 *
 * No timers, clocks, randomness or I/O: the driver (`elector.ts`) feeds in events with the time and
 * a jitter draw, carries out the commands, and asks `nextWake` when to call back. Everything the
 * elector decides is here, so all of it can be tested with a virtual clock.
 *
 * A run goes idle -> candidate -> leader -> steppingDown -> releasing -> stopped, and is one-shot
 * like client-go's: once it stops leading it never campaigns again.
 *
 * @module
 */
import {
  type Attempt,
  advance,
  begin,
  expiry,
  type Failure,
  type Now,
  type Outcome,
  type Progress,
  releaseRecord,
  type Request,
  see,
  type View,
} from "./attempt.ts";
import type { Settings, Term } from "./config.ts";
import type { LockVersion, Observed } from "./lock.ts";
import { type LeaderElectionRecord, sameRecord } from "./record.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** Why a leader stopped leading. */
export type Loss =
  | { readonly kind: "stopped" }
  | { readonly kind: "renewDeadline" }
  | { readonly kind: "holder"; readonly holder: string }
  | { readonly kind: "endOfTerm"; readonly why: string }
  | { readonly kind: "failed" };

export type Phase =
  | { readonly tag: "idle" }
  | {
    readonly tag: "candidate";
    readonly attempt: Attempt | undefined;
    readonly wakeAt: number;
    /** The last attempt lost a race: the winner is not known yet, so read again at once (once). */
    readonly raced: boolean;
  }
  | {
    readonly tag: "leader";
    readonly term: Term;
    /** Start of the last successful renew + renewDeadline: after it, others may soon take over. */
    readonly authorityUntil: number;
    readonly attempt: Attempt | undefined;
    readonly wakeAt: number;
    /** The last record we wrote, until the watch shows it: watch events before it are history. */
    readonly echo: LeaderElectionRecord | undefined;
  }
  /** The leader's signal is aborted; waiting (bounded) for its work to settle before releasing. */
  | { readonly tag: "steppingDown"; readonly loss: Loss; readonly until: number }
  | { readonly tag: "releasing"; readonly until: number; readonly stage: "get" | "update" | "waiting"; readonly retryAt: number }
  | { readonly tag: "stopped" };

export interface State extends View {
  readonly phase: Phase;
  /** The last identity reported through onNewLeader. */
  readonly reported: string;
  /** The request in flight, if any: results with another id are stale. */
  readonly inflight: number | undefined;
  readonly nextId: number;
  /** The watch is delivering events, so followers wait for them instead of polling. */
  readonly watching: boolean;
  readonly watchStarted: boolean;
  /** The last record the watch delivered (a leader's write may be echoed before its response arrives). */
  readonly watched: LeaderElectionRecord | undefined;
  /** A watch event arrived while an attempt was in flight and showed the lease free. */
  readonly freedDuringAttempt: boolean;
  /** The leader's work (onStartedLeading) has started and not yet settled. */
  readonly working: boolean;
  /** Monotonic time of our last successful write, for health checks. */
  readonly lastWrite: number | undefined;
  /** Renewals that needed a read first (client-go's leader_election_slowpath_total). */
  readonly slowpath: number;
  /** Set when a callback failed: `run` rejects with it. */
  readonly failure: { readonly cause: unknown } | undefined;
}

export type Event =
  | { readonly _tag: "Start" }
  /** The time from `nextWake` has come. */
  | { readonly _tag: "Wake" }
  | { readonly _tag: "Result"; readonly id: number; readonly outcome: Outcome }
  /** From the watch: the record as it now is, or `undefined` when the object was deleted. */
  | { readonly _tag: "Seen"; readonly observed: Observed | undefined }
  | { readonly _tag: "WatchHealth"; readonly active: boolean }
  /** The leader's work (onStartedLeading) returned or threw. */
  | { readonly _tag: "WorkSettled" }
  /** `run`'s signal aborted, or a callback failed (`failure`). */
  | { readonly _tag: "Stop"; readonly failure?: { readonly cause: unknown } };

export type Command =
  | { readonly _tag: "Send"; readonly id: number; readonly request: Request; readonly timeout: number }
  | { readonly _tag: "Cancel"; readonly id: number }
  | { readonly _tag: "Watch"; readonly from: LockVersion }
  | { readonly _tag: "NewLeader"; readonly identity: string }
  | { readonly _tag: "StartLeading"; readonly term: Term }
  /** Abort the leader's signal. */
  | { readonly _tag: "StopLeading"; readonly loss: Loss }
  /** The run is over: stop watching, call onStoppedLeading, settle `run`. */
  | { readonly _tag: "Finish"; readonly failure: { readonly cause: unknown } | undefined };

export type Step = readonly [State, readonly Command[]];

export const initial: State = {
  phase: { tag: "idle" },
  observed: undefined,
  version: undefined,
  reported: "",
  inflight: undefined,
  nextId: 1,
  watching: false,
  watchStarted: false,
  watched: undefined,
  freedDuringAttempt: false,
  working: false,
  lastWrite: undefined,
  slowpath: 0,
  failure: undefined,
};

// -------------------------------------------------------------------------------------
// queries
// -------------------------------------------------------------------------------------

/** When the driver should deliver the next `Wake`, if at all. */
export const nextWake = (state: State): number | undefined => {
  const phase = state.phase;
  switch (phase.tag) {
    case "candidate":
      return phase.attempt === undefined ? phase.wakeAt : undefined;
    case "leader":
      return phase.attempt === undefined ? Math.min(phase.wakeAt, phase.authorityUntil) : phase.authorityUntil;
    case "steppingDown":
      return phase.until;
    case "releasing":
      return phase.stage === "waiting" ? Math.min(phase.retryAt, phase.until) : phase.until;
    default:
      return undefined;
  }
};

/** Whether we may act as leader at `mono`: leading, and the last renew is recent enough. */
export const leading = (state: State, mono: number): boolean =>
  state.phase.tag === "leader" && mono < state.phase.authorityUntil;

// -------------------------------------------------------------------------------------
// step
// -------------------------------------------------------------------------------------

export const step = (settings: Settings, state: State, event: Event, now: Now): Step => {
  const phase = state.phase;
  // A leader whose authority lapsed steps down before anything else happens.
  if (phase.tag === "leader" && now.mono >= phase.authorityUntil) {
    const [lost, commands] = loseLeadership(settings, state, { kind: "renewDeadline" }, now);
    const [next, more] = step(settings, lost, event, now);
    return [next, [...commands, ...more]];
  }

  switch (event._tag) {
    case "Start":
      return phase.tag === "idle" ? attempt({ ...state, phase: { tag: "candidate", attempt: undefined, wakeAt: now.mono, raced: false } }, settings, now) : [state, []];

    case "Stop": {
      const withFailure = state.failure === undefined && event.failure !== undefined ? { ...state, failure: event.failure } : state;
      if (phase.tag === "leader") return loseLeadership(settings, withFailure, { kind: event.failure ? "failed" : "stopped" }, now);
      if (phase.tag === "idle" || phase.tag === "candidate") return finish(withFailure);
      return [withFailure, []];
    }

    case "WorkSettled": {
      const settled = { ...state, working: false };
      return phase.tag === "steppingDown" ? afterStepDown(settings, settled, now) : [settled, []];
    }

    case "WatchHealth":
      return [{ ...state, watching: event.active }, []];

    case "Seen":
      return seen(settings, state, event.observed, now);

    case "Wake":
      return wake(settings, state, now);

    case "Result":
      if (event.id !== state.inflight) return [state, []];
      return result(settings, { ...state, inflight: undefined }, event.outcome, now);
  }
};

// -------------------------------------------------------------------------------------
// attempts
// -------------------------------------------------------------------------------------

/** Begins an acquire or renew attempt in the current (candidate or leader) phase. */
const attempt = (state: State, settings: Settings, now: Now): Step =>
  progress(settings, { ...state, freedDuringAttempt: false }, begin(settings, state, now), now);

const timeoutFor = (settings: Settings, state: State, now: Now): number =>
  state.phase.tag === "leader"
    ? Math.max(0, Math.min(settings.requestTimeout, state.phase.authorityUntil - now.mono))
    : state.phase.tag === "releasing"
    ? Math.max(0, state.phase.until - now.mono)
    : settings.requestTimeout;

const sendRequest = (settings: Settings, state: State, request: Request, now: Now): Step => {
  const id = state.nextId;
  const next = { ...state, inflight: id, nextId: id + 1 };
  return [next, [{ _tag: "Send", id, request, timeout: timeoutFor(settings, next, now) }]];
};

/** Acts on where an attempt has got to. */
const progress = (settings: Settings, state: State, next: Progress, now: Now): Step => {
  const phase = state.phase as Extract<Phase, { tag: "candidate" | "leader" }>;
  switch (next._tag) {
    case "send":
      return sendRequest(settings, { ...state, phase: { ...phase, attempt: next.attempt } }, next.request, now);
    case "won":
      return won(settings, state, next, now);
    case "failed":
      return lostAttempt(settings, state, next.failure, now);
  }
};

const result = (settings: Settings, state: State, outcome: Outcome, now: Now): Step => {
  const phase = state.phase;
  if ((phase.tag === "candidate" || phase.tag === "leader") && phase.attempt !== undefined) {
    const [view, next] = advance(settings, state, phase.attempt, outcome, now);
    return progress(settings, { ...state, ...view }, next, now);
  }
  if (phase.tag === "releasing") return releaseResult(settings, state, outcome, now);
  return [state, []];
};

const jitter = (settings: Settings, now: Now): number => settings.retryPeriod * (1 + now.random * 1.2);

const won = (settings: Settings, state: State, progress: Extract<Progress, { _tag: "won" }>, now: Now): Step => {
  const phase = state.phase as Extract<Phase, { tag: "candidate" | "leader" }>;
  const started = (phase.attempt as Attempt).started;
  const record = progress.written.record;
  const base: State = {
    ...state,
    lastWrite: now.mono,
    slowpath: phase.tag === "leader" && progress.slowpath ? state.slowpath + 1 : state.slowpath,
  };
  const leader = {
    tag: "leader",
    authorityUntil: started.mono + settings.renewDeadline,
    attempt: undefined,
    wakeAt: now.mono + settings.retryPeriod,
    echo: state.watched !== undefined && sameRecord(state.watched, record) ? undefined : record,
  } as const;
  if (phase.tag === "leader") {
    return [{ ...base, phase: { ...leader, term: phase.term } }, []];
  }
  const term: Term = { identity: settings.identity, transitions: record.leaseTransitions, acquireTime: record.acquireTime };
  const [reported, commands] = report({ ...base, phase: { ...leader, term } });
  const [watched, watch] = startWatch(settings, { ...reported, working: true });
  // A watch that starts from our own write has nothing older to deliver.
  const caughtUp = watch.length > 0 ? { ...watched, phase: { ...leader, term, echo: undefined } } : watched;
  return [caughtUp, [...commands, ...watch, { _tag: "StartLeading", term }]];
};

const lostAttempt = (settings: Settings, state: State, failure: Failure, now: Now): Step => {
  const phase = state.phase as Extract<Phase, { tag: "candidate" | "leader" }>;
  if (phase.tag === "leader") {
    const cleared = { ...state, phase: { ...phase, attempt: undefined } };
    if (failure.kind === "held") return loseLeadership(settings, cleared, { kind: "holder", holder: failure.holder }, now);
    if (failure.kind === "waiting") return loseLeadership(settings, cleared, { kind: "endOfTerm", why: failure.why }, now);
    // Retry on the renew cadence until the authority deadline decides.
    const retryAt = Math.max(now.mono, (phase.attempt as Attempt).started.mono + settings.retryPeriod);
    return [{ ...cleared, phase: { ...cleared.phase, wakeAt: retryAt } }, []];
  }
  const [reported, commands] = report(state);
  const [watched, watch] = startWatch(settings, reported);
  // Read again at once after losing a race (once), or when the watch showed the lease freed meanwhile.
  const raced = failure.kind === "lost" && !(phase as Extract<Phase, { tag: "candidate" }>).raced;
  const next: State = { ...watched, phase: { tag: "candidate", attempt: undefined, wakeAt: now.mono, raced } };
  if (raced || state.freedDuringAttempt) return withCommands(attempt(next, settings, now), [...commands, ...watch]);
  const wakeAt = candidateWake(settings, watched, failure, now);
  return [{ ...next, phase: { ...next.phase, wakeAt } as Phase }, [...commands, ...watch]];
};

/**
 * When a candidate tries again: at the exact local expiry of a lease held by someone else (and,
 * without a working watch, at the next jittered poll if that comes first); after errors and lost
 * races, after a jittered retry period (or the server's Retry-After, if longer).
 */
const candidateWake = (settings: Settings, state: State, failure: Failure, now: Now): number => {
  const poll = now.mono + jitter(settings, now);
  if (failure.kind === "held" && state.observed !== undefined) {
    const expires = expiry(state.observed);
    return state.watching ? expires : Math.min(expires, poll);
  }
  if (failure.kind === "error" && failure.retryAfter !== undefined) return now.mono + Math.max(failure.retryAfter, jitter(settings, now));
  return poll;
};

/** Starts watching once we have a version to watch from, when the settings allow it. */
const startWatch = (settings: Settings, state: State): Step =>
  settings.watch && !state.watchStarted && state.version !== undefined
    ? [{ ...state, watchStarted: true }, [{ _tag: "Watch", from: state.version }]]
    : [state, []];

/** Tells onNewLeader when the observed holder differs from the one last reported. */
const report = (state: State): Step => {
  const holder = state.observed?.record.holderIdentity ?? "";
  return holder === state.reported ? [state, []] : [{ ...state, reported: holder }, [{ _tag: "NewLeader", identity: holder }]];
};

const withCommands = ([state, commands]: Step, before: readonly Command[]): Step => [state, [...before, ...commands]];

// -------------------------------------------------------------------------------------
// timers and watch events
// -------------------------------------------------------------------------------------

const wake = (settings: Settings, state: State, now: Now): Step => {
  const phase = state.phase;
  switch (phase.tag) {
    case "candidate":
    case "leader":
      return phase.attempt === undefined && now.mono >= phase.wakeAt ? attempt(state, settings, now) : [state, []];
    case "steppingDown":
      return now.mono >= phase.until ? afterStepDown(settings, state, now) : [state, []];
    case "releasing":
      if (now.mono >= phase.until) return finish(state);
      return phase.stage === "waiting" && now.mono >= phase.retryAt ? releaseGet(settings, state, now) : [state, []];
    default:
      return [state, []];
  }
};

const seen = (settings: Settings, watchedState: State, observed: Observed | undefined, now: Now): Step => {
  const state = { ...watchedState, watched: observed?.record };
  const phase = state.phase;
  // Free, or still ours from an earlier run with the same identity: worth an attempt at once.
  const free = observed === undefined || observed.record.holderIdentity === "" ||
    observed.record.holderIdentity === settings.identity;
  if (phase.tag === "candidate") {
    if (phase.attempt !== undefined) return [free ? { ...state, freedDuringAttempt: true } : state, []];
    if (observed === undefined) return attempt({ ...state, version: undefined }, settings, now);
    const updated = { ...state, ...see(state, observed, now.mono) };
    const [reported, commands] = report(updated);
    if (free) return withCommands(attempt(reported, settings, now), commands);
    const wakeAt = candidateWake(settings, reported, { kind: "held", holder: observed.record.holderIdentity }, now);
    return [{ ...reported, phase: { ...phase, wakeAt } }, commands];
  }
  if (phase.tag === "leader") {
    // Events up to the echo of our own last write are history, older than what we know.
    if (phase.echo !== undefined) {
      const caughtUp = observed !== undefined && sameRecord(observed.record, phase.echo);
      return [caughtUp ? { ...state, phase: { ...phase, echo: undefined } } : state, []];
    }
    if (observed === undefined) {
      // Deleted under us: re-create it on the next attempt (the stale object cannot be updated).
      const gone = { ...state, version: undefined };
      return phase.attempt === undefined ? attempt(gone, settings, now) : [gone, []];
    }
    if (observed.record.holderIdentity === settings.identity) return [state, []];
    const updated = { ...state, ...see(state, observed, now.mono) };
    const [lost, commands] = loseLeadership(settings, updated, { kind: "holder", holder: observed.record.holderIdentity }, now);
    const [reported, more] = report(lost);
    return [reported, [...commands, ...more]];
  }
  return [state, []];
};

// -------------------------------------------------------------------------------------
// stepping down and releasing
// -------------------------------------------------------------------------------------

/** Aborts the leader's signal at once; the release (if any) waits for the work to settle. */
const loseLeadership = (settings: Settings, state: State, loss: Loss, now: Now): Step => {
  const cancel: Command[] = state.inflight === undefined ? [] : [{ _tag: "Cancel", id: state.inflight }];
  const down: State = { ...state, inflight: undefined, phase: { tag: "steppingDown", loss, until: now.mono + settings.renewDeadline } };
  const stop: Command = { _tag: "StopLeading", loss };
  return state.working ? [down, [...cancel, stop]] : withCommands(afterStepDown(settings, down, now), [...cancel, stop]);
};

/**
 * Release only once the work has settled (never blank a lease while the old leader may still be
 * acting) and only if asked to; otherwise the lease simply expires.
 */
const afterStepDown = (settings: Settings, state: State, now: Now): Step => {
  if (!settings.releaseOnCancel || state.working) return finish(state);
  const releasing: Phase = { tag: "releasing", until: now.mono + settings.renewDeadline, stage: "get", retryAt: 0 };
  return releaseGet(settings, { ...state, phase: releasing }, now);
};

const releasing = (state: State, stage: "get" | "update" | "waiting", retryAt = 0): State => ({
  ...state,
  phase: { ...(state.phase as Extract<Phase, { tag: "releasing" }>), stage, retryAt },
});

const releaseGet = (settings: Settings, state: State, now: Now): Step =>
  sendRequest(settings, releasing(state, "get"), { op: "get" }, now);

/**
 * Release: read first, blank the lease only if it is still ours (client-go checks only its local
 * view), read again after a conflict, and retry other failures until the deadline.
 */
const releaseResult = (settings: Settings, state: State, outcome: Outcome, now: Now): Step => {
  const phase = state.phase as Extract<Phase, { tag: "releasing" }>;
  if (!outcome.ok) {
    if (outcome.reason === "NotFound") return finish(state);
    if (outcome.reason === "Conflict") return releaseGet(settings, state, now);
    return [releasing(state, "waiting", now.mono + settings.retryPeriod), []];
  }
  if (phase.stage === "update") {
    const released = { ...state, observed: { record: outcome.observed.record, change: outcome.observed.change, at: now.mono }, version: outcome.observed.version };
    return reportThenFinish(released);
  }
  const read = { ...state, ...see(state, outcome.observed, now.mono) };
  const record = outcome.observed.record;
  if (record.holderIdentity !== settings.identity) return reportThenFinish(read);
  const request: Request = { op: "update", record: releaseRecord(record, now), version: outcome.observed.version };
  return sendRequest(settings, releasing(read, "update"), request, now);
};

const reportThenFinish = (state: State): Step => {
  const [reported, commands] = report(state);
  return withCommands(finish(reported), commands);
};

const finish = (state: State): Step => {
  const cancel: Command[] = state.inflight === undefined ? [] : [{ _tag: "Cancel", id: state.inflight }];
  return [
    { ...state, inflight: undefined, phase: { tag: "stopped" } },
    [...cancel, { _tag: "Finish", failure: state.failure }],
  ];
};
