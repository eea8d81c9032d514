/**
 * Campaigning and leading: attempts to acquire or renew (see attempt.ts), what a candidate waits
 * for between them, and what the watch's events mean to a candidate and to a leader.
 *
 * @module
 */
import { askedToYield } from "../coordinated.ts";
import {
  advance,
  type Attempt,
  begin,
  coordinatedMayWrite,
  expiry,
  type Failure,
  type Now,
  observe,
  ours,
  type Outcome,
  type Progress,
} from "./attempt.ts";
import { DEFAULTS, type Settings, type Term } from "../config.ts";
import type { Snapshot } from "../lock.ts";
import { sameRecord } from "../record.ts";
import { announce, own, sendRequest, startWatch, withCommands } from "./common.ts";
import { loseLeadership } from "./release.ts";
import { checkRead } from "./watch-health.ts";
import { type Candidate, draft, draftLeader, type Leader, type State, type Step } from "./state.ts";

type Campaigning = Candidate | Leader;

export const candidate = (wakeAt: number, raced = false): Candidate => ({ _tag: "candidate", attempt: undefined, wakeAt, raced, freed: false });

const withAttempt = (phase: Campaigning, attempt: Attempt | undefined, wakeAt = phase.wakeAt): Campaigning => {
  if (phase._tag === "candidate") return { _tag: "candidate", attempt, wakeAt, raced: phase.raced, freed: phase.freed };
  const next = draftLeader(phase);
  next.attempt = attempt;
  next.wakeAt = wakeAt;
  return next;
};

/** Begins an acquire or renew attempt in the current (candidate or leader) phase. */
export const attempt = (state: State, settings: Settings, now: Now): Step => {
  const phase = state.phase as Campaigning;
  // What the watch shows from now on is news to this attempt.
  const fresh = phase._tag === "candidate" && phase.freed ? { ...state, phase: { ...phase, freed: false } } : state;
  return progress(settings, fresh, begin(settings, fresh, now, own(fresh)), now);
};

/** Acts on where an attempt has got to. */
const progress = (settings: Settings, state: State, next: Progress, now: Now): Step => {
  const phase = state.phase as Campaigning;
  switch (next._tag) {
    case "send": {
      // When the attempt first wrote (a GET writes nothing), and what: see `won`.
      const request = next.request;
      const previous = phase.attempt;
      const wrote = previous?.wrote ?? (request.op === "get" ? undefined : now.mono);
      const writing = request.op === "get" ? previous?.writing : request.record;
      const attempt: Attempt = { started: next.attempt.started, stage: next.attempt.stage, wrote, writing, echoed: previous?.echoed };
      // A take-over may be applied even if its answer is lost: its record is then ours (see `Own`).
      const sent = phase._tag === "candidate" && request.op !== "get" ? { ...state, takeoverSent: request.record.acquireTime } : state;
      return sendRequest(settings, sent, withAttempt(phase, attempt), request, now);
    }
    case "won":
      return won(settings, state, next, now);
    case "failed":
      return lostAttempt(settings, state, next.failure, now);
  }
};

/** client-go's wait.Jitter: uniform in [retryPeriod, 2.2 x retryPeriod). */
const jitter = (settings: Settings, now: Now): number => settings.retryPeriod * (1 + now.random * DEFAULTS.jitterFactor);

/** The attempt's write was applied (`confirmed` by its answer, or by the watch's echo in `watch`). */
const won = (
  settings: Settings,
  state: State,
  progress: Extract<Progress, { _tag: "won" }>,
  now: Now,
  confirmed = (state.phase as Campaigning).attempt as Attempt,
  watch = state.watch,
): Step => {
  const phase = state.phase as Campaigning;
  const { started, wrote, echoed } = confirmed;
  const record = progress.written.record;
  // The watch brought our write and then someone else's before our answer (client-go's MultiLock
  // overwrites a Lease just taken): a race lost after all, not a term.
  const after = watch.last;
  if (phase._tag === "candidate" && echoed && after !== undefined && !sameRecord(after, record)) {
    return lostAttempt(settings, { ...state, watch, observation: { record: after, change: undefined, at: now.mono }, version: undefined }, { _tag: "lost" }, now);
  }
  // client-go compares records to the second, so its followers restart their expiry clock at our
  // first write in a second and not at later ones: authority runs from that first write. It may be
  // this attempt's (a write applied but answered with an error is rewritten unchanged, so nobody
  // saw this record before), which makes a term taken with a read and a write not a round trip
  // short; or an earlier write in this second whose attempt failed (see `lostAttempt`).
  // Every write of an attempt carries its start as renewTime.
  const renewSecond = Math.floor(started.wall / 1000);
  const since = phase._tag === "leader" && renewSecond === phase.renewSecond ? phase.since : wrote as number;
  // The next renew waits for this one's answer, retryPeriod from its write (not from its answer,
  // so one round trip plus retryPeriod fits in renewDeadline, as in client-go's cycle), and the
  // next second of the wall clock (1 ms past, for drift): renews within one second are invisible.
  const wakeAt = Math.max(now.mono, (wrote as number) + settings.retryPeriod, started.mono + 1001 - started.wall % 1000);
  const echo = after !== undefined && sameRecord(after, record) ? undefined : record;
  const slowpath = phase._tag === "leader" && progress.slowpath ? state.slowpath + 1 : state.slowpath;
  if (phase._tag === "leader") {
    // The hot path: no spreads (see state.ts).
    const renewed = draftLeader(phase);
    renewed.renewSecond = renewSecond;
    renewed.since = since;
    renewed.authorityUntil = since + settings.renewDeadline;
    renewed.attempt = undefined;
    renewed.wakeAt = wakeAt;
    renewed.echo = echo;
    renewed.unanswered = undefined;
    const next = draft(state);
    next.phase = renewed;
    next.watch = watch;
    next.observation = { record: progress.written.record, change: progress.written.change, at: now.mono }; // see `wrote`
    next.version = progress.written.version;
    next.request = undefined;
    next.lastWrite = now.mono;
    next.slowpath = slowpath;
    return [next, []];
  }
  const term: Term = { identity: settings.identity, transitions: record.leaseTransitions, acquireTime: record.acquireTime };
  const base = { ...state, watch, lastWrite: now.mono, slowpath, takeoverSent: undefined };
  const leading: Leader = { _tag: "leader", term, authorityUntil: since + settings.renewDeadline, renewSecond, since, attempt: undefined, wakeAt, echo, working: true, unanswered: undefined };
  const [announced, commands] = announce({ ...base, phase: leading });
  const [watched, watching] = startWatch(settings, announced);
  // A watch that starts from our own write has nothing older to deliver.
  const caughtUp = watching.length > 0
    ? { ...watched, phase: { ...leading, echo: undefined } }
    : watched;
  return [caughtUp, [...commands, ...watching, { _tag: "StartLeading", term }]];
};

const lostAttempt = (settings: Settings, state: State, failure: Failure, now: Now): Step => {
  const phase = state.phase as Campaigning;
  if (phase._tag === "leader") {
    if (failure._tag === "held" || failure._tag === "yield") {
      const loss = failure._tag === "held" ? { _tag: "holder", holder: failure.holder } as const : failure;
      return loseLeadership(settings, { ...state, phase: withAttempt(phase, undefined) }, loss, now);
    }
    // Retry on the renew cadence until the authority deadline decides. A write of this attempt
    // may have been applied and seen: a renew later in its second extends nothing from then.
    const { started, wrote } = phase.attempt as Attempt;
    const renewSecond = Math.floor(started.wall / 1000);
    const visible = wrote !== undefined && renewSecond !== phase.renewSecond;
    const retryAt = Math.max(now.mono, started.mono + settings.retryPeriod);
    // A write without an answer may still be confirmed by its echo (see `changed`).
    const unanswered = (phase.attempt as Attempt).writing === undefined ? phase.unanswered : phase.attempt;
    const next: Leader = visible
      ? { ...phase, renewSecond, since: wrote, attempt: undefined, wakeAt: retryAt, unanswered }
      : { ...phase, attempt: undefined, wakeAt: retryAt, unanswered };
    return [{ ...state, phase: next }, []];
  }
  const [announced, commands] = announce(state);
  const [watched, watch] = startWatch(settings, announced);
  // Read again at once after losing a race (once), or when the watch showed the lease freed meanwhile.
  const raced = failure._tag === "lost" && !phase.raced;
  const again = raced || phase.freed;
  const wakeAt = again ? now.mono : candidateWake(settings, watched, failure, now);
  const next = { ...watched, phase: candidate(wakeAt, raced) };
  return withCommands(again ? attempt(next, settings, now) : [next, []], [...commands, ...watch]);
};

/**
 * When a candidate tries again: at the exact local expiry of a lease held by someone else (and,
 * without a working watch, at the next jittered poll if that comes first); after errors and lost
 * races, after a jittered retry period (or the server's Retry-After, if longer).
 */
const candidateWake = (settings: Settings, state: State, failure: Failure, now: Now): number => {
  const poll = now.mono + jitter(settings, now);
  if (failure._tag === "held" && state.observation !== undefined) {
    // Watching, read anyway once it has been quiet for longer than a leader renews: it may be dead.
    // Coordinated, an expiry is the coordinator's to act on.
    return Math.min(settings.coordinated ? Infinity : expiry(state.observation), state.watch.active ? now.mono + settings.retryPeriod * (1 + DEFAULTS.jitterFactor) : poll);
  }
  if (failure._tag === "error" && failure.retryAfter !== undefined) return now.mono + Math.max(failure.retryAfter, jitter(settings, now));
  return poll;
};

/** Whether `attempt` wrote the record of `snapshot`. */
const writes = (attempt: Attempt | undefined, snapshot: Snapshot): attempt is Attempt =>
  attempt?.writing !== undefined && sameRecord(snapshot.record, attempt.writing);

/**
 * A watch event. A candidate waits for the new expiry, or tries at once when the lease is free;
 * a leader ignores the echo of its own writes and steps down when another holder shows up.
 */
export const changed = (settings: Settings, before: State, snapshot: Snapshot | undefined, now: Now): Step => {
  const phase = before.phase;
  const watch = { started: before.watch.started, active: before.watch.active, last: snapshot?.record };
  if (phase._tag === "leader" && snapshot !== undefined) {
    // The echo of a renew whose answer is late or lost (a response cut off or never finished): the
    // server committed exactly what we wrote, which is as good as its answer. Authority still runs
    // from when that write was sent, and the echo brings the version to write against next. A
    // request still in flight is left to finish and its answer ignored: cancelling it would close
    // an HTTP/1.1 connection whose answer may be a moment behind the echo.
    const confirmed = writes(phase.attempt, snapshot) ? phase.attempt : writes(phase.unanswered, snapshot) ? phase.unanswered : undefined;
    // A leader's every renew when the echo beats the answer (a memory lock's): `won` builds the
    // whole state (the observation, the version, the request) without spreads (see state.ts).
    if (confirmed !== undefined) return won(settings, before, { _tag: "won", written: snapshot, slowpath: false }, now, confirmed, watch);
  }
  // The leader's hot path: the echo of its own last write, or events older than it (history).
  if (phase._tag === "leader" && phase.echo !== undefined) {
    const caughtUp = snapshot !== undefined && sameRecord(snapshot.record, phase.echo);
    // The hot path: no spreads (see state.ts).
    const next = draft(before);
    next.watch = watch;
    if (caughtUp) {
      const leader = draftLeader(phase);
      leader.echo = undefined;
      next.phase = leader;
    }
    return [next, []];
  }
  const state = { ...before, watch };
  // Free, or left by our own last term: worth an attempt at once. Our identity alone is not enough:
  // another process using it may still act (see `ours`).
  const mine = snapshot !== undefined && ours(settings, own(state), snapshot.record);
  const free = settings.coordinated
    ? snapshot !== undefined && phase._tag === "candidate" && coordinatedMayWrite(settings, own(state), { record: snapshot.record, at: now.mono }, now.mono)
    : snapshot === undefined || snapshot.record.holderIdentity === "" || mine;
  if (phase._tag === "candidate") {
    const a = phase.attempt;
    if (a !== undefined) {
      // Our write's echo marks where it stands among the events (see `won`).
      const echoed = a.echoed || (a.writing !== undefined && snapshot !== undefined && sameRecord(snapshot.record, a.writing));
      const attempt: Attempt = { started: a.started, stage: a.stage, wrote: a.wrote, writing: a.writing, echoed };
      return [{ ...state, phase: { _tag: "candidate", attempt, wakeAt: phase.wakeAt, raced: phase.raced, freed: phase.freed || free } }, []];
    }
    if (snapshot === undefined) return attempt({ ...state, version: undefined }, settings, now);
    const updated = { ...state, ...observe(state, snapshot, now.mono) };
    const [announced, commands] = announce(updated);
    if (free) return withCommands(attempt(announced, settings, now), commands);
    const wakeAt = candidateWake(settings, announced, { _tag: "held", holder: snapshot.record.holderIdentity }, now);
    return [{ ...announced, phase: { _tag: "candidate", attempt: undefined, wakeAt, raced: phase.raced, freed: phase.freed } }, commands];
  }
  if (phase._tag === "leader") {
    if (snapshot === undefined) {
      // Deleted under us: re-create it on the next attempt (the stale object cannot be updated).
      const gone = { ...state, version: undefined };
      return phase.attempt === undefined ? attempt(gone, settings, now) : [gone, []];
    }
    if (mine && settings.coordinated && askedToYield(settings.identity, snapshot.record)) {
      return loseLeadership(settings, { ...state, ...observe(state, snapshot, now.mono) }, { _tag: "yield", holder: snapshot.record.preferredHolder }, now);
    }
    if (mine) return [state, []];
    const updated = { ...state, ...observe(state, snapshot, now.mono) };
    const [lost, commands] = loseLeadership(settings, updated, { _tag: "holder", holder: snapshot.record.holderIdentity }, now);
    const [announced, more] = announce(lost);
    return [announced, [...commands, ...more]];
  }
  return [state, []];
};

/** The outcome of the attempt's request (still in `state.request`). */
export const attemptResult = (settings: Settings, asked: State, outcome: Outcome, now: Now): Step => {
  const phase = asked.phase as Campaigning;
  const [view, next] = advance(settings, asked, phase.attempt as Attempt, outcome, now, own(asked));
  // A leader's renew builds its whole state at once (see `won`).
  const state = next._tag === "won" && phase._tag === "leader"
    ? asked
    : { ...asked, request: undefined, observation: view.observation, version: view.version };
  return withCommands(progress(settings, state, next, now), checkRead(asked, outcome));
};

/** Time for the next attempt (a renew, a retry, a lease's expiry)? */
export const campaignWake = (settings: Settings, state: State, now: Now): Step => {
  const phase = state.phase as Campaigning;
  return phase.attempt === undefined && now.mono >= phase.wakeAt ? attempt(state, settings, now) : [state, []];
};
