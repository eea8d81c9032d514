/**
 * The election's state, the events that move it and the commands it asks for. A run goes
 * idle -> candidate -> leader -> steppingDown -> releasing -> stopped, and is one-shot like
 * client-go's: once it stops leading it never campaigns again. With `rejoin`, a term that ends for
 * any reason but stopping goes from steppingDown (or releasing) back to candidate: one-shot per term.
 *
 * @module
 */
import type { Attempt, Outcome, Request, View } from "../attempt.ts";
import type { Term } from "../config.ts";
import type { LockVersion, Observed } from "../lock.ts";
import type { LeaderElectionRecord } from "../record.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** Why a leader stopped leading. */
export type Loss =
  | { readonly kind: "stopped" }
  | { readonly kind: "renewDeadline" }
  | { readonly kind: "holder"; readonly holder: string }
  /** Coordinated: the coordinator prefers `holder`. */
  | { readonly kind: "yield"; readonly holder: string }
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
    /** `since` + renewDeadline: after it, others may soon take over. */
    readonly authorityUntil: number;
    /** The renewTime, to the second, of our last write that followers may have seen. */
    readonly second: string | undefined;
    /** When our first write in `second` was sent: no follower saw that second before. */
    readonly since: number;
    readonly attempt: Attempt | undefined;
    readonly wakeAt: number;
    /** The last record we wrote, until the watch shows it: watch events before it are history. */
    readonly echo: LeaderElectionRecord | undefined;
    /** The last renew that wrote but got no answer (cut off, timed out): its echo still confirms it. */
    readonly unanswered?: Attempt | undefined;
  }
  /**
   * The leader's signal is aborted; waiting for its work to settle before releasing, until `until`
   * (renewDeadline later; with rejoin, again and again, unless asked to stop).
   */
  | { readonly tag: "steppingDown"; readonly loss: Loss; readonly until: number }
  | { readonly tag: "releasing"; readonly until: number; readonly stage: "get" | "update" | "waiting"; readonly retryAt: number }
  | { readonly tag: "stopped" };

export interface State extends View {
  readonly phase: Phase;
  /** The last identity reported through onNewLeader. */
  readonly reported: string;
  /** The request in flight, if any: results with another id are stale. */
  readonly inflight?: number | undefined;
  readonly nextId: number;
  /** The watch is delivering events, so followers wait for them instead of polling. */
  readonly watching?: boolean;
  readonly watchStarted?: boolean;
  /** The last record the watch delivered (a leader's write may be echoed before its response arrives). */
  readonly watched?: LeaderElectionRecord | undefined;
  /** A watch event arrived while an attempt was in flight and showed the lease free. */
  readonly freedDuringAttempt?: boolean;
  /** The leader's work (onStartedLeading) has started and not yet settled. */
  readonly working?: boolean;
  /** Monotonic time of our last successful write, for health checks. */
  readonly lastWrite?: number | undefined;
  /** Renewals that needed a read first (client-go's leader_election_slowpath_total). */
  readonly slowpath: number;
  /** Set when a callback failed: `run` rejects with it. */
  readonly failure?: { readonly cause: unknown } | undefined;
  /** The last term we led, once it has ended: a record of it is still ours (see `Own`). */
  readonly lastTerm?: Term | undefined;
  /** Asked to stop (or a callback failed): the run ends once leadership is handed back, never rejoins. */
  readonly stopping?: boolean;
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
  /**
   * A read showed a change the watch has not delivered: restart the watch unless it delivers
   * something within a retry period (a read can beat its watch event by a few milliseconds).
   */
  | { readonly _tag: "CheckWatch" }
  | { readonly _tag: "NewLeader"; readonly identity: string }
  | { readonly _tag: "StartLeading"; readonly term: Term }
  /** Abort the leader's signal. */
  | { readonly _tag: "StopLeading"; readonly loss: Loss }
  /** The run is over: stop watching, call onStoppedLeading, settle `run`. */
  | { readonly _tag: "Finish"; readonly failure: { readonly cause: unknown } | undefined };

export type Step = readonly [State, readonly Command[]];

/** Fields that are undefined or false at first are left out (they are optional). */
export const initial: State = { phase: { tag: "idle" }, reported: "", nextId: 1, slowpath: 0 };

// -------------------------------------------------------------------------------------
// queries
// -------------------------------------------------------------------------------------

/** When the driver should deliver the next `Wake`, if at all. */
export const nextWake = (state: State): number | undefined => {
  const phase = state.phase;
  // While an attempt is in flight, its result comes first; a leader's authority still runs out.
  return phase.tag === "candidate"
    ? phase.attempt ? undefined : phase.wakeAt
    : phase.tag === "leader"
    ? Math.min(phase.authorityUntil, phase.attempt ? Infinity : phase.wakeAt)
    : phase.tag === "steppingDown"
    ? phase.until
    : phase.tag === "releasing"
    ? Math.min(phase.until, phase.stage === "waiting" ? phase.retryAt : Infinity)
    : undefined;
};

/** Whether we may act as leader at `mono`: leading, and the last renew is recent enough. */
export const leading = (state: State, mono: number): boolean =>
  state.phase.tag === "leader" && mono < state.phase.authorityUntil;
