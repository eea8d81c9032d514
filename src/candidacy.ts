/**
 * The coordinated elector's candidacy: registered with the coordinator for the whole run (the Lock
 * keeps it, e.g. a LeaseCandidate beside a Lease) and withdrawn when the run ends, before the
 * lease is released, so that the coordinator does not hand the lease back to a leaving process.
 *
 * @module
 */
import type { Settings } from "./config.ts";
import type { Lock, LockError } from "./lock.ts";

export interface Candidacy {
  /** Withdraws the candidate (once); resolves when done or given up on. */
  withdraw(): Promise<void>;
}

/** Starts the candidacy of a coordinated elector; undefined when not coordinated. */
export const candidacyOf = (lock: Lock, settings: Settings, report: (error: LockError) => void): Candidacy | undefined => {
  if (lock.candidacy === undefined) return undefined;
  const stop = new AbortController();
  // The lock reports its failures and keeps trying; a rejection would be a bug in it, reported too.
  const kept = Promise.resolve()
    .then(() => lock.candidacy?.(settings.identity, stop.signal, report))
    .catch((error: unknown) => report(error as LockError));
  return {
    withdraw: () => {
      stop.abort();
      return kept;
    },
  };
};
