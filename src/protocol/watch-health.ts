/**
 * Whether the watch still delivers, judged by reads. A watch can stay open and deliver nothing (a
 * stuck proxy, a half-open connection), and a follower that trusts it waits for an expiry long
 * past, then a whole leaseDuration more. So a candidate reads when the watch has been quiet for
 * longer than a leader's renew cadence (see `candidateWake`), and a read that shows a change the
 * watch has not delivered asks the driver to check it: the watch is restarted (the follower polls
 * until it is open again) unless it delivers something within a retry period, since a read can
 * beat its own watch event by a few milliseconds. (A candidate's winning write asks too: its echo
 * is due as well.)
 *
 * @module
 */
import type { Outcome } from "./attempt.ts";
import { sameRecord } from "../record.ts";
import type { Command, State } from "./state.ts";

/** A candidate's answer: does it show what the watch has not (deleted, or another record)? */
export const checkRead = (state: State, outcome: Outcome): Command[] =>
  outcome._tag === "ok" && state.watch.active && state.phase._tag === "candidate" && !(state.watch.last && sameRecord(outcome.snapshot.record, state.watch.last))
    ? [{ _tag: "CheckWatch" }]
    : [];
