/**
 * Campaigning and leading: attempts to acquire or renew (see attempt.ts), what a candidate waits
 * for between them, and what the watch's events mean to a candidate and to a leader.
 *
 * @module
 */
import { type Attempt, advance, begin, coordinatedMayWrite, expiry, type Failure, type Now, ours, type Outcome, type Progress, see, wrote } from "../attempt.ts";
import { DEFAULTS, type Settings, type Term } from "../config.ts";
import type { Observed } from "../lock.ts";
import { formatMicroTime, sameRecord } from "../record.ts";
import { askedToYield } from "../coordinated.ts";
import { own, report, sendRequest, startWatch, withCommands } from "./common.ts";
import { loseLeadership } from "./release.ts";
import { checkRead } from "./watch-health.ts";
import type { Phase, State, Step } from "./state.ts";

/** Begins an acquire or renew attempt in the current (candidate or leader) phase. */
export const attempt = (state: State, settings: Settings, now: Now): Step =>
  progress(settings, { ...state, freedDuringAttempt: false }, begin(settings, state, now, own(state)), now);

/** Acts on where an attempt has got to. */
const progress = (settings: Settings, state: State, next: Progress, now: Now): Step => {
  const phase = state.phase as Extract<Phase, { tag: "candidate" | "leader" }>;
  switch (next._tag) {
    case "send": {
      // When the attempt first wrote (a GET writes nothing), and what: see `won`.
      const request = next.request;
      const wrote = phase.attempt?.wrote ?? (request.op === "get" ? undefined : now.mono);
      const writing = request.op === "get" ? phase.attempt?.writing : request.record;
      return sendRequest(settings, { ...state, phase: { ...phase, attempt: { ...next.attempt, wrote, writing } } }, request, now);
    }
    case "won":
      return won(settings, state, next, now);
    case "failed":
      return lostAttempt(settings, state, next.failure, now);
  }
};

/** client-go's wait.Jitter: uniform in [retryPeriod, 2.2 x retryPeriod). */
const jitter = (settings: Settings, now: Now): number => settings.retryPeriod * (1 + now.random * DEFAULTS.jitterFactor);

const won = (settings: Settings, state: State, progress: Extract<Progress, { _tag: "won" }>, now: Now): Step => {
  const phase = state.phase as Extract<Phase, { tag: "candidate" | "leader" }>;
  const { started, wrote, echoed } = phase.attempt as Attempt;
  const record = progress.written.record;
  // The watch brought our write and then someone else's before our answer (client-go's MultiLock
  // overwrites a Lease just taken): a race lost after all, not a term.
  const after = state.watched;
  if (phase.tag === "candidate" && echoed && after !== undefined && !sameRecord(after, record)) {
    return lostAttempt(settings, { ...state, observed: { record: after, at: now.mono }, version: undefined }, { kind: "lost" }, now);
  }
  const base: State = {
    ...state,
    lastWrite: now.mono,
    slowpath: phase.tag === "leader" && progress.slowpath ? state.slowpath + 1 : state.slowpath,
  };
  // client-go compares records to the second, so its followers restart their expiry clock at our
  // first write in a second and not at later ones: authority runs from that first write. It may be
  // this attempt's (a write applied but answered with an error is rewritten unchanged, so nobody
  // saw this record before), which makes a term taken with a read and a write not a round trip
  // short; or an earlier write in this second whose attempt failed (see `lostAttempt`).
  const second = record.renewTime?.slice(0, 19);
  const since = phase.tag === "leader" && second === phase.second ? phase.since : wrote as number;
  const leader = {
    tag: "leader",
    authorityUntil: since + settings.renewDeadline,
    second,
    since,
    attempt: undefined,
    // The next renew waits for this one's answer, retryPeriod from its write (not from its answer,
    // so one round trip plus retryPeriod fits in renewDeadline, as in client-go's cycle), and the
    // next second of the wall clock (1 ms past, for drift): renews within one second are invisible.
    wakeAt: Math.max(now.mono, (wrote as number) + settings.retryPeriod, started.mono + 1001 - started.wall % 1000),
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
    if (failure.kind === "held" || failure.kind === "yield") {
      const loss = { kind: failure.kind === "held" ? "holder" : "yield", holder: failure.holder } as const;
      return loseLeadership(settings, { ...state, phase: { ...phase, attempt: undefined } }, loss, now);
    }
    // Retry on the renew cadence until the authority deadline decides. A write of this attempt
    // may have been applied and seen: a renew later in its second extends nothing from then.
    const { started, wrote } = phase.attempt as Attempt;
    const second = formatMicroTime(started.wall).slice(0, 19);
    const seen = wrote === undefined || second === phase.second ? {} : { second, since: wrote };
    const retryAt = Math.max(now.mono, started.mono + settings.retryPeriod);
    const unanswered = (phase.attempt as Attempt).writing === undefined ? phase.unanswered : phase.attempt;
    return [{ ...state, phase: { ...phase, ...seen, attempt: undefined, wakeAt: retryAt, unanswered } }, []];
  }
  const [reported, commands] = report(state);
  const [watched, watch] = startWatch(settings, reported);
  // Read again at once after losing a race (once), or when the watch showed the lease freed meanwhile.
  const raced = failure.kind === "lost" && !(phase as Extract<Phase, { tag: "candidate" }>).raced;
  const again = raced || state.freedDuringAttempt;
  const wakeAt = again ? now.mono : candidateWake(settings, watched, failure, now);
  const next: State = { ...watched, phase: { tag: "candidate", attempt: undefined, wakeAt, raced } };
  return withCommands(again ? attempt(next, settings, now) : [next, []], [...commands, ...watch]);
};

/**
 * When a candidate tries again: at the exact local expiry of a lease held by someone else (and,
 * without a working watch, at the next jittered poll if that comes first); after errors and lost
 * races, after a jittered retry period (or the server's Retry-After, if longer).
 */
const candidateWake = (settings: Settings, state: State, failure: Failure, now: Now): number => {
  const poll = now.mono + jitter(settings, now);
  if (failure.kind === "held" && state.observed !== undefined) {
    // Watching, read anyway once it has been quiet for longer than a leader renews: it may be dead.
    // Coordinated, an expiry is the coordinator's to act on.
    return Math.min(settings.coordinated ? Infinity : expiry(state.observed), state.watching ? now.mono + settings.retryPeriod * (1 + DEFAULTS.jitterFactor) : poll);
  }
  if (failure.kind === "error" && failure.retryAfter !== undefined) return now.mono + Math.max(failure.retryAfter, jitter(settings, now));
  return poll;
};

/**
 * A watch event. A candidate waits for the new expiry, or tries at once when the lease is free;
 * a leader ignores the echo of its own writes and steps down when another holder shows up.
 */
export const seen = (settings: Settings, watchedState: State, observed: Observed | undefined, now: Now): Step => {
  const state = { ...watchedState, watched: observed?.record };
  const phase = state.phase;
  // Free, or left by our own last term: worth an attempt at once. Our identity alone is not enough:
  // another process using it may still act (see `ours`).
  const mine = observed !== undefined && ours(settings, own(state), observed.record);
  const free = settings.coordinated
    ? observed !== undefined && phase.tag === "candidate" && coordinatedMayWrite(settings, own(state), { record: observed.record, at: now.mono }, now.mono)
    : observed === undefined || observed.record.holderIdentity === "" || mine;
  if (phase.tag === "candidate") {
    const a = phase.attempt;
    if (a !== undefined) {
      // Our write's echo marks where it stands among the events (see `won`).
      const echoed = a.echoed || (a.writing !== undefined && observed !== undefined && sameRecord(observed.record, a.writing));
      return [{ ...state, freedDuringAttempt: state.freedDuringAttempt || free, phase: { ...phase, attempt: { ...a, echoed } } }, []];
    }
    if (observed === undefined) return attempt({ ...state, version: undefined }, settings, now);
    const updated = { ...state, ...see(state, observed, now.mono) };
    const [reported, commands] = report(updated);
    if (free) return withCommands(attempt(reported, settings, now), commands);
    const wakeAt = candidateWake(settings, reported, { kind: "held", holder: observed.record.holderIdentity }, now);
    return [{ ...reported, phase: { ...phase, wakeAt } }, commands];
  }
  if (phase.tag === "leader") {
    // The echo of a renew whose answer is late or lost (a response cut off or never finished): the
    // server committed exactly what we wrote, which is as good as its answer. Authority still runs
    // from when that write was sent, and the echo brings the version to write against next. A
    // request still in flight is left to finish and its answer ignored: cancelling it would close
    // an HTTP/1.1 connection whose answer may be a moment behind the echo.
    const confirmed = [phase.attempt, phase.unanswered].find((a) => a?.writing !== undefined && observed !== undefined && sameRecord(observed.record, a.writing));
    if (confirmed !== undefined && observed !== undefined) {
      const answered = { ...state, ...wrote(observed, now.mono), inflight: undefined, phase: { ...phase, attempt: confirmed, unanswered: undefined } };
      return won(settings, answered, { _tag: "won", written: observed, slowpath: false }, now);
    }
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
    if (mine && settings.coordinated && askedToYield(settings.identity, observed.record)) {
      return loseLeadership(settings, { ...state, ...see(state, observed, now.mono) }, { kind: "yield", holder: observed.record.preferredHolder }, now);
    }
    if (mine) return [state, []];
    const updated = { ...state, ...see(state, observed, now.mono) };
    const [lost, commands] = loseLeadership(settings, updated, { kind: "holder", holder: observed.record.holderIdentity }, now);
    const [reported, more] = report(lost);
    return [reported, [...commands, ...more]];
  }
  return [state, []];
};

/** The outcome of the attempt's request. */
export const attemptResult = (settings: Settings, state: State, outcome: Outcome, now: Now): Step => {
  const phase = state.phase as Extract<Phase, { tag: "candidate" | "leader" }>;
  const [view, next] = advance(settings, state, phase.attempt as Attempt, outcome, now, own(state));
  return withCommands(progress(settings, { ...state, ...view }, next, now), checkRead(state, outcome));
};

/** Time for the next attempt (a renew, a retry, a lease's expiry)? */
export const campaignWake = (settings: Settings, state: State, now: Now): Step => {
  const phase = state.phase as Extract<Phase, { tag: "candidate" | "leader" }>;
  return phase.attempt === undefined && now.mono >= phase.wakeAt ? attempt(state, settings, now) : [state, []];
};
