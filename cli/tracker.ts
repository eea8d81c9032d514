/**
 * What the HTTP endpoints report about a campaign that may span several electors (one per term:
 * an elector is one-shot, so `--rejoin` and `serve` create a fresh one after each loss).
 *
 * @module
 */
import type { Elector } from "../src/index.ts";

export interface Tracker {
  /** The Lease's name: client-go's `name` label. */
  readonly lease: string;
  readonly namespace: string;
  readonly identity: string;
  /** The elector of the current campaign, once there is one. */
  current: Elector | undefined;
  /** Terms this process has led (started leading). */
  terms: number;
  /** slowpath counts of the electors before `current`, so the counter never goes down. */
  pastSlowpath: number;
  /** `run` only: whether the child is running now. */
  child: boolean | undefined;
  /** `run` only: children started. */
  childStarts: number;
}

export const tracker = (lease: string, namespace: string, identity: string, supervises: boolean): Tracker => ({
  lease,
  namespace,
  identity,
  current: undefined,
  terms: 0,
  pastSlowpath: 0,
  child: supervises ? false : undefined,
  childStarts: 0,
});

/** Moves to the next term's elector, keeping the counters monotonic. */
export const follow = (tracker: Tracker, next: Elector): void => {
  if (tracker.current !== undefined) tracker.pastSlowpath += tracker.current.metrics().slowpathTotal;
  tracker.current = next;
};
