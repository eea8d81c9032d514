/**
 * What every phase does the same way: send a request (with the timeout the phase allows), report
 * a new leader, start the watch, end the run.
 *
 * @module
 */
import type { Now, Own, Request } from "./attempt.ts";
import type { Settings } from "../config.ts";
import { type Command, draft, type Phase, type State, type Step } from "./state.ts";

/** How long a request may take: a leader's no longer than its authority lasts, a release's no longer than its deadline. */
const timeoutFor = (settings: Settings, phase: Phase, now: Now): number =>
  Math.max(
    0,
    phase._tag === "leader"
      ? Math.min(settings.requestTimeout, phase.authorityUntil - now.mono)
      : phase._tag === "releasing"
      ? phase.until - now.mono
      : settings.requestTimeout,
  );

/** Moves to `phase` and sends `request` there: the one request in flight, timing out at its deadline. */
export const sendRequest = (settings: Settings, state: State, phase: Phase, request: Request, now: Now): Step => {
  const id = state.nextId;
  const timeout = timeoutFor(settings, phase, now);
  const next = draft(state);
  next.phase = phase;
  next.request = { id, op: request.op, deadline: now.mono + timeout, timeout };
  next.nextId = id + 1;
  return [next, [{ _tag: "Send", id, request }]];
};

/** Starts watching once we have a version to watch from, when the settings allow it. */
export const startWatch = (settings: Settings, state: State): Step =>
  // Coordinated, also for a Lease not yet there: the coordinator will create it for someone.
  settings.watch && !state.watch.started && (state.version !== undefined || settings.coordinated === true)
    // What the watch starts from is what it has shown us so far.
    ? [{ ...state, watch: { started: true, active: state.watch.active, last: state.observation?.record } }, [{ _tag: "Watch", from: state.version }]]
    : [state, []];

/** Tells onNewLeader when the observed holder differs from the one last announced. */
export const announce = (state: State): Step => {
  const holder = state.observation?.record.holderIdentity ?? "";
  return holder === state.announced ? [state, []] : [{ ...state, announced: holder }, [{ _tag: "NewLeader", identity: holder }]];
};

/** Which records are ours: of the term we lead, or between terms of the last one we led. */
export const own = (state: State): Own =>
  state.phase._tag === "leader"
    ? { acquireTime: state.phase.term.acquireTime, leading: true, takeover: undefined }
    : { acquireTime: state.lastTerm?.acquireTime, leading: false, takeover: state.takeoverSent };

export const withCommands = (step: Step, before: readonly Command[]): Step =>
  before.length === 0 ? step : [step[0], [...before, ...step[1]]];

/**
 * The term is over (stepped down, released if asked to): the run ends, or with `rejoin`, unless
 * stopping, the elector is a candidate again and tries at once.
 */
export const over = (settings: Settings, state: State, now: Now): Step =>
  settings.rejoin && state.stopping === undefined
    ? [{ ...state, phase: { _tag: "candidate", attempt: undefined, wakeAt: now.mono, raced: false, freed: false } }, []]
    : end(state);

export const announceThenOver = (settings: Settings, state: State, now: Now): Step => {
  const [announced, commands] = announce(state);
  return withCommands(over(settings, announced, now), commands);
};

export const end = (state: State): Step => {
  const cancel: Command[] = state.request === undefined ? [] : [{ _tag: "Cancel", id: state.request.id }];
  return [
    { ...state, request: undefined, phase: { _tag: "stopped" } },
    [...cancel, { _tag: "End", failure: state.stopping?.failure }],
  ];
};
