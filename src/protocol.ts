/**
 * The election as a pure step function: `(state, event, now) -> [state, commands]`.
 *
 * No timers, clocks, randomness or I/O: the driver (`elector.ts`) feeds in events with the time and
 * a jitter draw, carries out the commands, and asks `nextWake` when to call back. Everything the
 * elector decides is here, so all of it can be tested with a virtual clock.
 *
 * A run goes idle -> candidate -> leader -> steppingDown -> releasing -> stopped, and is one-shot
 * like client-go's: once it stops leading it never campaigns again; with `rejoin` a term that ends
 * for any reason but stopping leads back to candidate, one-shot per term (see state.ts).
 *
 * @module
 */
import type { Now } from "./attempt.ts";
import type { Settings } from "./config.ts";
import { attempt, attemptResult, campaignWake, seen } from "./protocol/campaign.ts";
import { finish } from "./protocol/common.ts";
import { afterStepDown, loseLeadership, releaseResult, releaseWake } from "./protocol/release.ts";
import type { Event, State, Step } from "./protocol/state.ts";

export * from "./protocol/state.ts";

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
      const withFailure = { ...state, stopping: true, failure: state.failure ?? event.failure };
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
      return phase.tag === "candidate" || phase.tag === "leader" ? campaignWake(settings, state, now) : releaseWake(settings, state, now);

    case "Result": {
      if (event.id !== state.inflight) return [state, []];
      const answered = { ...state, inflight: undefined };
      if ((phase.tag === "candidate" || phase.tag === "leader") && phase.attempt !== undefined) {
        return attemptResult(settings, answered, event.outcome, now);
      }
      return phase.tag === "releasing" ? releaseResult(settings, answered, event.outcome, now) : [answered, []];
    }
  }
};
