/**
 * The election as a pure step function: `(state, event, now) -> [state, commands]`.
 *
 * client-go's algorithm, which this is:
 *
 *   1. acquire: every retryPeriod (jittered), tryAcquireOrRenew until it succeeds;
 *   2. tryAcquireOrRenew: GET the lock (or, holding a valid lease, skip straight to 4);
 *   3.   held by someone else and unchanged for less than leaseDuration: give up this round;
 *   4.   otherwise write our record (a new term: transitions + 1) with compare-and-swap;
 *   5. lead: call OnStartedLeading, then renew (tryAcquireOrRenew) every retryPeriod;
 *   6.   a renew that does not succeed within renewDeadline ends leadership;
 *   7. stop: cancel the leader's context; if ReleaseOnCancel, blank the record;
 *   8. a follower tracks the record: any change restarts its leaseDuration clock.
 *
 * Reading order: state.ts (State, Event, Command), then this file (`step`), then
 * protocol/attempt.ts (tryAcquireOrRenew as pure functions: 2-4), protocol/campaign.ts (1, 5, 6
 * and 8, with the watch), protocol/release.ts (7), protocol/common.ts (what phases share).
 *
 * No timers, clocks, randomness or I/O: the driver (`elector.ts`) feeds in events with the time and
 * a jitter draw, carries out the commands, and asks `nextWake` when to call back. A run goes
 * idle -> candidate -> leader -> steppingDown -> releasing -> stopped, one-shot like client-go's;
 * with `rejoin`, a term that ends for any reason but stopping leads back to candidate.
 *
 * @module
 */
import type { Settings } from "./config.ts";
import type { Now } from "./protocol/attempt.ts";
import { attempt, attemptResult, campaignWake, candidate, changed } from "./protocol/campaign.ts";
import { end } from "./protocol/common.ts";
import { afterStepDown, loseLeadership, releaseResult, releaseWake } from "./protocol/release.ts";
import type { Event, State, Step } from "./protocol/state.ts";

export * from "./protocol/state.ts";

export const step = (settings: Settings, state: State, event: Event, now: Now): Step => {
  // A request past its deadline times out before anything else happens.
  const request = state.request;
  if (request !== undefined && now.mono >= request.deadline) {
    const message = `${request.op} timed out after ${Math.round(request.timeout)} ms`;
    const [timedOut, commands] = withAuthority(settings, state, { _tag: "Result", id: request.id, outcome: { _tag: "error", reason: "Timeout", message } }, now);
    const [next, more] = step(settings, timedOut, event, now);
    return [next, [{ _tag: "TimedOut", id: request.id, op: request.op, timeout: request.timeout }, ...commands, ...more]];
  }
  return withAuthority(settings, state, event, now);
};

/** A leader whose authority lapsed steps down before anything else happens. */
const withAuthority = (settings: Settings, state: State, event: Event, now: Now): Step => {
  const phase = state.phase;
  if (phase._tag === "leader" && now.mono >= phase.authorityUntil) {
    const [lost, commands] = loseLeadership(settings, state, { _tag: "renewDeadline" }, now);
    const [next, more] = react(settings, lost, event, now);
    return [next, [...commands, ...more]];
  }
  return react(settings, state, event, now);
};

const react = (settings: Settings, state: State, event: Event, now: Now): Step => {
  const phase = state.phase;
  const request = state.request;
  switch (event._tag) {
    case "Start":
      return phase._tag === "idle" ? attempt({ ...state, phase: candidate(now.mono) }, settings, now) : [state, []];

    case "Stop": {
      const stopping = { ...state, stopping: { failure: state.stopping?.failure ?? event.failure } };
      if (phase._tag === "leader") return loseLeadership(settings, stopping, { _tag: event.failure ? "failed" : "stopped" }, now);
      if (phase._tag === "idle" || phase._tag === "candidate") return end(stopping);
      return [stopping, []];
    }

    case "WorkSettled":
      if (phase._tag === "leader") return [{ ...state, phase: { ...phase, working: false } }, []];
      if (phase._tag === "steppingDown") return afterStepDown(settings, { ...state, phase: { ...phase, working: false } }, now);
      return [state, []];

    case "WatchHealth":
      return [{ ...state, watch: { started: state.watch.started, active: event.active, last: state.watch.last } }, []];

    case "Changed":
      return changed(settings, state, event.snapshot, now);

    case "Wake":
      return phase._tag === "candidate" || phase._tag === "leader" ? campaignWake(settings, state, now) : releaseWake(settings, state, now);

    case "Result": {
      if (event.id !== request?.id) return [state, []];
      if ((phase._tag === "candidate" || phase._tag === "leader") && phase.attempt !== undefined) {
        return attemptResult(settings, state, event.outcome, now);
      }
      const answered = { ...state, request: undefined };
      return phase._tag === "releasing" ? releaseResult(settings, answered, event.outcome, now) : [answered, []];
    }
  }
};
