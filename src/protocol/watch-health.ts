/**
 * Whether the watch still delivers, judged by reads. A watch can stay open and deliver nothing (a
 * stuck proxy, a half-open connection), and a follower that trusts it waits for an expiry that
 * is long past, then a whole leaseDuration more. So a candidate reads when the watch has been
 * quiet for longer than a leader's renew cadence (see `candidateWake`); a read that shows a change
 * the watch has not delivered makes it suspect, and if nothing at all arrives within a retry
 * period, it is dead: restart it, and poll until it is open again. One read is not proof: it can
 * beat its own watch event by a few milliseconds.
 *
 * @module
 */
import type { Attempt, Now, Outcome } from "../attempt.ts";
import type { Settings } from "../config.ts";
import { sameRecord } from "../record.ts";
import type { State, Step } from "./state.ts";

/** A candidate's read: does it show what the watch has not? */
export const checkRead = (settings: Settings, state: State, outcome: Outcome, now: Now): State =>
  outcome.ok && state.watching && state.suspect === undefined && state.phase.tag === "candidate" &&
    (state.phase.attempt as Attempt).stage === "get" && state.watched !== undefined &&
    !sameRecord(outcome.observed.record, state.watched)
    ? { ...state, suspect: now.mono + settings.retryPeriod }
    : state;

/** Nothing from the watch since it became suspect: restart it, and poll meanwhile. */
export const checkWatch = (state: State, now: Now): Step =>
  state.suspect !== undefined && now.mono >= state.suspect
    ? [{ ...state, suspect: undefined, watching: false }, [{ _tag: "Rewatch" }]]
    : [state, []];
