/**
 * Stepping down and releasing: the leader's signal is aborted at once; the Lease is blanked only
 * once the work has settled, only if asked to, and only while it is still ours.
 *
 * @module
 */
import { type Now, observe, observeWrite, ours, type Outcome, releaseRecord, type Request } from "./attempt.ts";
import type { Settings } from "../config.ts";
import { announceThenOver, end, over, own, sendRequest, withCommands } from "./common.ts";
import type { Command, Loss, Phase, State, Step } from "./state.ts";

/** Aborts the leader's signal at once; the release (if any) waits for the work to settle. Leaders only. */
export const loseLeadership = (settings: Settings, state: State, loss: Loss, now: Now): Step => {
  const cancel: Command[] = state.request === undefined ? [] : [{ _tag: "Cancel", id: state.request.id }];
  const { term, working } = state.phase as Extract<Phase, { _tag: "leader" }>;
  const down: State = { ...state, request: undefined, lastTerm: term, phase: { _tag: "steppingDown", loss, until: now.mono + settings.renewDeadline, working } };
  const stop: Command = { _tag: "StopLeading", loss };
  return working ? [down, [...cancel, stop]] : withCommands(afterStepDown(settings, down, now), [...cancel, stop]);
};

/**
 * Release only once the work has settled (never blank a lease while the old leader may still be
 * acting) and only if asked to; otherwise the lease simply expires. Work that outlives the wait
 * ends a one-shot run; with `rejoin` the elector waits for it, however long, before campaigning
 * again, so that no work of an old term runs beside a new one.
 */
export const afterStepDown = (settings: Settings, state: State, now: Now): Step => {
  const phase = state.phase as Extract<Phase, { _tag: "steppingDown" }>;
  if (phase.working) {
    return settings.rejoin && state.stopping === undefined
      ? [{ ...state, phase: { _tag: "steppingDown", loss: phase.loss, until: now.mono + settings.renewDeadline, working: true } }, []]
      : end(state);
  }
  // Coordinated, a yield releases too: the coordinator then hands the lease on at once (see coordinated.ts).
  const yielded = settings.coordinated === true && phase.loss._tag === "yield";
  if (!settings.releaseOnCancel && !yielded) return over(settings, state, now);
  const releasing: Phase = { _tag: "releasing", until: now.mono + settings.renewDeadline, stage: "get", retryAt: 0 };
  return releaseGet(settings, { ...state, phase: releasing }, now);
};

const releasing = (state: State, stage: "get" | "update" | "waiting", retryAt = 0): Phase =>
  ({ _tag: "releasing", until: (state.phase as Extract<Phase, { _tag: "releasing" }>).until, stage, retryAt });

const releaseGet = (settings: Settings, state: State, now: Now): Step =>
  sendRequest(settings, state, releasing(state, "get"), { op: "get" }, now);

/**
 * Release: read first, blank the lease only if it is still ours (client-go checks only its local
 * view), read again after a conflict, and retry other failures until the deadline.
 */
export const releaseResult = (settings: Settings, state: State, outcome: Outcome, now: Now): Step => {
  const phase = state.phase as Extract<Phase, { _tag: "releasing" }>;
  if (outcome._tag === "error") {
    if (outcome.reason === "NotFound") return over(settings, state, now);
    if (outcome.reason === "Conflict") return releaseGet(settings, state, now);
    return [{ ...state, phase: releasing(state, "waiting", now.mono + settings.retryPeriod) }, []];
  }
  if (phase.stage === "update") {
    return announceThenOver(settings, { ...state, ...observeWrite(outcome.snapshot, now.mono) }, now);
  }
  const read = { ...state, ...observe(state, outcome.snapshot, now.mono) };
  const record = outcome.snapshot.record;
  if (!ours(settings, own(read), record)) return announceThenOver(settings, read, now);
  const request: Request = { op: "update", record: releaseRecord(record, now), version: outcome.snapshot.version };
  return sendRequest(settings, read, releasing(read, "update"), request, now);
};

/** The wait for the work, or the release's deadline or retry, has come. */
export const releaseWake = (settings: Settings, state: State, now: Now): Step => {
  const phase = state.phase;
  if (phase._tag === "steppingDown") return now.mono >= phase.until ? afterStepDown(settings, state, now) : [state, []];
  if (phase._tag !== "releasing") return [state, []];
  if (now.mono >= phase.until) return over(settings, state, now);
  return phase.stage === "waiting" && now.mono >= phase.retryAt ? releaseGet(settings, state, now) : [state, []];
};
