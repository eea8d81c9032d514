/**
 * What every phase does the same way: send a request (with the timeout the phase allows), report
 * a new leader, start the watch, finish the run.
 *
 * @module
 */
import type { Now, Own, Request } from "../attempt.ts";
import type { Settings } from "../config.ts";
import type { Command, State, Step } from "./state.ts";

const timeoutFor = (settings: Settings, state: State, now: Now): number =>
  Math.max(
    0,
    state.phase.tag === "leader"
      ? Math.min(settings.requestTimeout, state.phase.authorityUntil - now.mono)
      : state.phase.tag === "releasing"
      ? state.phase.until - now.mono
      : settings.requestTimeout,
  );

export const sendRequest = (settings: Settings, state: State, request: Request, now: Now): Step => {
  const id = state.nextId;
  const next = { ...state, inflight: id, nextId: id + 1 };
  return [next, [{ _tag: "Send", id, request, timeout: timeoutFor(settings, next, now) }]];
};

/** Starts watching once we have a version to watch from, when the settings allow it. */
export const startWatch = (settings: Settings, state: State): Step =>
  // Coordinated, also for a Lease not yet there: the coordinator will create it for someone.
  settings.watch && !state.watchStarted && (state.version !== undefined || settings.coordinated)
    // What the watch starts from is what it has shown us so far.
    ? [{ ...state, watchStarted: true, watched: state.observed?.record }, [{ _tag: "Watch", from: state.version }]]
    : [state, []];

/** Tells onNewLeader when the observed holder differs from the one last reported. */
export const report = (state: State): Step => {
  const holder = state.observed?.record.holderIdentity ?? "";
  return holder === state.reported ? [state, []] : [{ ...state, reported: holder }, [{ _tag: "NewLeader", identity: holder }]];
};

/** Which records are ours: of the term we lead, or between terms of the last one we led. */
export const own = (state: State): Own =>
  state.phase.tag === "leader"
    ? { acquireTime: state.phase.term.acquireTime, leading: true }
    : { acquireTime: state.lastTerm?.acquireTime, leading: false };

export const withCommands = ([state, commands]: Step, before: readonly Command[]): Step => [state, [...before, ...commands]];

/**
 * The term is over (stepped down, released if asked to): the run ends, or with `rejoin`, unless
 * stopping, the elector is a candidate again and tries at once.
 */
export const over = (settings: Settings, state: State, now: Now): Step =>
  settings.rejoin && !state.stopping
    ? [{ ...state, phase: { tag: "candidate", attempt: undefined, wakeAt: now.mono, raced: false } }, []]
    : finish(state);

export const reportThenOver = (settings: Settings, state: State, now: Now): Step => {
  const [reported, commands] = report(state);
  return withCommands(over(settings, reported, now), commands);
};

export const finish = (state: State): Step => {
  const cancel: Command[] = state.inflight === undefined ? [] : [{ _tag: "Cancel", id: state.inflight }];
  return [
    { ...state, inflight: undefined, phase: { tag: "stopped" } },
    [...cancel, { _tag: "Finish", failure: state.failure }],
  ];
};
