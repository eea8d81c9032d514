/**
 * Leadership events, as client-go records them when given an EventRecorder: `<identity> became
 * leader` when a term starts and `<identity> stopped leading` when it is over (after the release,
 * if any), on the lock's object as last seen. Only when the lock was asked to record events; a
 * failed write reaches onError once and changes nothing in the election.
 *
 * @module
 */
import type { Settings } from "./config.ts";
import type { Lock, LockVersion } from "./lock.ts";
import type { State } from "./protocol.ts";

export interface EventLog {
  /** Records the end of a term when the step from `before` to `after` ended one. */
  observe(before: State, after: State): void;
  record(what: "became leader" | "stopped leading"): void;
  /** Resolves when the writes in flight have settled. */
  settled(): Promise<unknown>;
}

const inTerm = (state: State): boolean => ["leader", "steppingDown", "releasing"].includes(state.phase._tag);

export const eventLogOf = (
  lock: Lock,
  settings: Settings,
  version: () => LockVersion | undefined,
  report: (error: unknown) => void,
): EventLog | undefined => {
  if (lock.recordEvent === undefined) return undefined;
  const pending = new Set<Promise<void>>();
  // The object last seen, even if the lease has since been deleted under us.
  let last: LockVersion | undefined;
  const record = (what: string): void => {
    last = version() ?? last;
    if (last === undefined) return;
    const write = Promise.resolve()
      .then(() => lock.recordEvent?.(`${settings.identity} ${what}`, last, AbortSignal.timeout(settings.requestTimeout)))
      .catch(report)
      .finally(() => pending.delete(write));
    pending.add(write);
  };
  return {
    observe: (before, after) => {
      last = version() ?? last;
      if (inTerm(before) && !inTerm(after)) record("stopped leading");
    },
    record,
    settled: () => Promise.allSettled([...pending]),
  };
};
