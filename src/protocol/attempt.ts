/**
 * One attempt to acquire or renew the lease (client-go's `tryAcquireOrRenew`), and one attempt to
 * release it, as pure functions: each takes what the elector knows and the outcome of the last
 * request, and says which request to send next or how the attempt ended.
 *
 * @module
 */
import type { Settings } from "../config.ts";
import { askedToYield, assignedTo } from "../coordinated.ts";
import type { LockErrorReason, LockVersion, Snapshot } from "../lock.ts";
import { formatMicroTime, type LeaderElectionRecord, type MicroTime, sameRecord } from "../record.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The inputs the protocol may not fetch itself: the time and the jitter draw. */
export interface Now {
  /** Monotonic milliseconds: the only time decisions are based on. */
  readonly mono: number;
  /** Wall-clock epoch milliseconds: only written into records. */
  readonly wall: number;
  /** A uniform draw in [0, 1) for jitter. */
  readonly random: number;
}

/** A record and the local monotonic time at which we first saw it as it is now. */
export interface Observation {
  readonly record: LeaderElectionRecord;
  /** The lock's extra change text, if it has one (see `Snapshot.change`). */
  readonly change?: string | undefined;
  readonly at: number;
}

/** What the elector knows of the lock. */
export interface View {
  /** The last record seen or written. */
  readonly observation?: Observation | undefined;
  /** What to write against next: from the last successful get, create or update. */
  readonly version?: LockVersion | undefined;
}

export type Request =
  | { readonly op: "get" }
  | { readonly op: "create"; readonly record: LeaderElectionRecord }
  | { readonly op: "update"; readonly record: LeaderElectionRecord; readonly version: LockVersion };

export type Outcome =
  | { readonly _tag: "ok"; readonly snapshot: Snapshot }
  | { readonly _tag: "error"; readonly reason: LockErrorReason; readonly message: string; readonly retryAfter?: number | undefined };

/** An attempt in flight: when it began (its `now` is written as renewTime) and what it awaits. */
export interface Attempt {
  readonly started: Now;
  readonly stage: "fast" | "get" | "create" | "update";
  /** Monotonic time its first write was sent, once it has written. */
  readonly wrote?: number | undefined;
  /** The record its write carries, once it writes. */
  readonly writing?: LeaderElectionRecord | undefined;
  /** The watch showed that record: what it shows next was written after ours. */
  readonly echoed?: boolean | undefined;
}

export type Failure =
  /** Someone else holds a lease that has not expired by our local clock. */
  | { readonly _tag: "held"; readonly holder: string }
  /** Someone wrote between our read and our write (Conflict, AlreadyExists). */
  | { readonly _tag: "lost" }
  /** Coordinated: the coordinator prefers `holder` to us. */
  | { readonly _tag: "yield"; readonly holder: string }
  | { readonly _tag: "error"; readonly reason: LockErrorReason; readonly message: string; readonly retryAfter?: number | undefined };

/**
 * Which records are ours. A record that names our identity is ours only if it carries the
 * acquireTime of a term this elector held (every write of a term keeps it), or of a take-over it
 * sent whose answer never came (the server applied it after all); otherwise another process with
 * our identity wrote it (a restart reusing a StatefulSet name or a fixed id, while the old process
 * may still act), and it is someone else's until it expires. client-go takes it at once.
 */
export interface Own {
  /** The acquireTime of the term we lead, or (between terms) of the last one we led; undefined if none. */
  readonly acquireTime: MicroTime | null | undefined;
  /** We lead that term now: writing renews it. Otherwise a write starts a new term. */
  readonly leading: boolean;
  /** Between terms, the acquireTime of our last take-over sent: applied, even unanswered, it is ours. */
  readonly takeover: MicroTime | null | undefined;
}

// A record's acquireTime is a string or null, never undefined: an elector that never led owns none.
export const ours = (settings: Settings, own: Own, record: LeaderElectionRecord): boolean =>
  record.holderIdentity === settings.identity && (record.acquireTime === own.acquireTime || (record.acquireTime !== null && record.acquireTime === own.takeover));

export type Progress =
  | { readonly _tag: "send"; readonly attempt: Attempt; readonly request: Request }
  | { readonly _tag: "won"; readonly written: Snapshot; readonly slowpath: boolean }
  | { readonly _tag: "failed"; readonly failure: Failure };

// -------------------------------------------------------------------------------------
// records we write
// -------------------------------------------------------------------------------------

/** A record we write, renewTime `now`. Built field by field (see state.ts). */
const stamped = (
  holderIdentity: string,
  leaseDurationSeconds: number,
  acquireTime: MicroTime | null,
  renewTime: MicroTime,
  leaseTransitions: number,
  strategy = "",
  preferredHolder = "",
): LeaderElectionRecord => ({ holderIdentity, leaseDurationSeconds, acquireTime, renewTime, leaseTransitions, strategy, preferredHolder });

/** What we write when we take the lease fresh: acquireTime = renewTime = the attempt's start. */
const desired = (settings: Settings, now: Now): LeaderElectionRecord => {
  const time = formatMicroTime(now.wall);
  return stamped(settings.identity, settings.leaseDuration / 1000, time, time, 0);
};

/**
 * A renew keeps the term's acquireTime and transitions, and the coordinator's strategy and
 * preferredHolder (client-go's uncoordinated renew drops both).
 */
const renewal = (settings: Settings, previous: LeaderElectionRecord, now: Now): LeaderElectionRecord =>
  stamped(settings.identity, settings.leaseDuration / 1000, previous.acquireTime, formatMicroTime(now.wall), previous.leaseTransitions, previous.strategy, previous.preferredHolder);

/** A take-over starts a new term: one more transition; the strategy stays, a preference for the next holder goes (as the coordinator clears it). */
const takeover = (settings: Settings, previous: LeaderElectionRecord, now: Now): LeaderElectionRecord => {
  const time = formatMicroTime(now.wall);
  return stamped(settings.identity, settings.leaseDuration / 1000, time, time, previous.leaseTransitions + 1, previous.strategy);
};

/** client-go's release record: nobody holds it, 1 s so even pre-1.14 clients wait only briefly. The strategy stays. */
export const releaseRecord = (previous: LeaderElectionRecord, now: Now): LeaderElectionRecord => {
  const time = formatMicroTime(now.wall);
  return stamped("", 1, time, time, previous.leaseTransitions, previous.strategy);
};

// -------------------------------------------------------------------------------------
// what we know
// -------------------------------------------------------------------------------------

/** The observed lease is still valid: unchanged for less than the record's own duration. */
export const valid = (observation: Observation | undefined, mono: number): boolean => observation !== undefined && expiry(observation) > mono;

/** When the observed lease expires by our clock. */
export const expiry = (observation: Observation): number => observation.at + observation.record.leaseDurationSeconds * 1000;

/** A read: the observation's time moves only when the record (or the lock's change text) changed. */
export const observe = (view: View, snapshot: Snapshot, mono: number): View => ({
  observation: view.observation !== undefined && sameRecord(view.observation.record, snapshot.record) &&
      view.observation.change === snapshot.change
    ? view.observation
    : { record: snapshot.record, change: snapshot.change, at: mono },
  version: snapshot.version,
});

/** Our own successful write. */
export const observeWrite = (snapshot: Snapshot, mono: number): View => ({
  observation: { record: snapshot.record, change: snapshot.change, at: mono },
  version: snapshot.version,
});

const failed = (failure: Failure): Progress => ({ _tag: "failed", failure });
const send = (started: Now, stage: Attempt["stage"], request: Request): Progress => ({
  _tag: "send",
  attempt: { started, stage },
  request,
});
const errorOf = (outcome: Outcome & { _tag: "error" }): Failure =>
  ({ _tag: "error", reason: outcome.reason, message: outcome.message, retryAfter: outcome.retryAfter });

// -------------------------------------------------------------------------------------
// acquire or renew
// -------------------------------------------------------------------------------------

/**
 * Starts an attempt. With the object in hand, write without reading first (the fast path): to
 * renew a lease we hold that is still valid (client-go's), or to take one that was released (the
 * watch brought the object) or that our own last term left. The write is a compare-and-swap; if
 * anything changed, it fails and the attempt reads and decides again.
 */
export const begin = (settings: Settings, view: View, now: Now, own: Own): Progress => {
  const last = view.observation?.record;
  if (last !== undefined && view.version !== undefined) {
    const mine = ours(settings, own, last);
    if (
      settings.coordinated
        ? coordinatedMayWrite(settings, own, view.observation as Observation, now.mono)
        : own.leading ? mine && valid(view.observation, now.mono) : mine || last.holderIdentity === ""
    ) {
      return send(now, "fast", { op: "update", record: claim(settings, own, last, now), version: view.version });
    }
  }
  return send(now, "get", { op: "get" });
};

/** Takes the outcome of the attempt's last request; returns what we now know and what comes next. */
export const advance = (
  settings: Settings,
  view: View,
  attempt: Attempt,
  outcome: Outcome,
  now: Now,
  own: Own,
): readonly [View, Progress] => {
  const started = attempt.started;
  if (outcome._tag === "ok" && attempt.stage !== "get") {
    // A renewal that had to read first is client-go's slow path.
    const slowpath = attempt.stage === "update" && view.observation?.record.holderIdentity === settings.identity;
    return [observeWrite(outcome.snapshot, now.mono), { _tag: "won", written: outcome.snapshot, slowpath }];
  }
  switch (attempt.stage) {
    case "fast":
      // Any failure, a 409 included, falls back to the slow path within the same attempt.
      return [view, send(started, "get", { op: "get" })];

    case "get": {
      if (outcome._tag === "error") {
        if (outcome.reason !== "NotFound") return [view, failed(errorOf(outcome))];
        return afterNotFound(settings, view, started, own);
      }
      const read = observe(view, outcome.snapshot, now.mono);
      return [read, slowNext(settings, read, started, own)];
    }

    default: {
      const failure = outcome as Outcome & { _tag: "error" };
      // The object we wrote against is stale for sure: the next attempt must read first.
      if (failure.reason === "Conflict" || failure.reason === "AlreadyExists") return [{ ...view, version: undefined }, failed({ _tag: "lost" })];
      return [view, failed(errorOf(failure))];
    }
  }
};

/** The holder of a lease that is someone else's and still valid, if so: we must not write it. */
const heldBy = (settings: Settings, own: Own, view: View, started: Now): string | undefined => {
  const last = view.observation?.record;
  return last !== undefined && last.holderIdentity !== "" && !ours(settings, own, last) && valid(view.observation, started.mono)
    ? last.holderIdentity
    : undefined;
};

/** What we write over `last`: a renewal of the term we lead (acquireTime and transitions kept), or a new term. */
const claim = (settings: Settings, own: Own, last: LeaderElectionRecord, now: Now): LeaderElectionRecord =>
  (own.leading && ours(settings, own, last) ? renewal : takeover)(settings, last, now);

/** After a fresh read: wait while someone else's lease is valid, otherwise write. */
const slowNext = (settings: Settings, view: View, started: Now, own: Own): Progress => {
  if (settings.coordinated) return coordinatedNext(settings, view, started, own);
  const holder = heldBy(settings, own, view, started);
  return holder !== undefined
    ? failed({ _tag: "held", holder })
    : send(started, "update", { op: "update", record: claim(settings, own, (view.observation as Observation).record, started), version: view.version });
};

/**
 * The object is gone. Create it, unless we last saw someone else holding a still-valid lease:
 * that holder may still be acting, so its term must lapse first (client-go creates at once).
 * Re-creating continues the transitions count we saw, so fencing epochs never go backwards.
 */
const afterNotFound = (settings: Settings, view: View, started: Now, own: Own): readonly [View, Progress] => {
  // Coordinated: only the coordinator creates the Lease.
  if (settings.coordinated) return [{ observation: view.observation, version: undefined }, failed({ _tag: "held", holder: "" })];
  const holder = heldBy(settings, own, view, started);
  const last = view.observation?.record;
  // The term we lead goes on (its acquireTime too, which makes its records ours); any other starts.
  const record = last === undefined ? desired(settings, started) : claim(settings, own, last, started);
  return [
    { observation: view.observation, version: undefined }, // the object is gone: what we had is stale
    holder !== undefined ? failed({ _tag: "held", holder }) : send(started, "create", { op: "create", record }),
  ];
};

// -------------------------------------------------------------------------------------
// coordinated mode (see coordinated.ts)
// -------------------------------------------------------------------------------------

/**
 * Coordinated: a leader renews its own valid lease unless asked to yield; a candidate starts a
 * term only on a valid lease the coordinator gave it. Nobody creates, takes over an expired lease
 * or takes a released one: the coordinator assigns those.
 */
export const coordinatedMayWrite = (settings: Settings, own: Own, observation: Observation, mono: number): boolean =>
  valid(observation, mono) &&
  (own.leading
    ? ours(settings, own, observation.record) && !askedToYield(settings.identity, observation.record)
    : assignedTo(settings.identity, own.acquireTime, observation.record));

/** After a fresh read: write if we may, yield if we lead and the coordinator prefers another, or wait for the coordinator. */
const coordinatedNext = (settings: Settings, view: View, started: Now, own: Own): Progress => {
  const observation = view.observation as Observation;
  const last = observation.record;
  if (coordinatedMayWrite(settings, own, observation, started.mono)) {
    return send(started, "update", { op: "update", record: claim(settings, own, last, started), version: view.version });
  }
  return own.leading && ours(settings, own, last) && askedToYield(settings.identity, last)
    ? failed({ _tag: "yield", holder: last.preferredHolder })
    : failed({ _tag: "held", holder: last.holderIdentity });
};
