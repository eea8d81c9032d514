/**
 * Coordinated leader election (KEP-4355): the API server's coordinator picks the leader among
 * registered candidates and writes its name into the Lease; electors only renew what they were
 * given, and step aside when the coordinator names a better candidate in `preferredHolder`.
 *
 * An elector is coordinated when its lock keeps a candidacy (`coordinatedLeaseLock`, which also
 * holds the versions the coordinator compares). These are the mode's rules, as pure functions;
 * the attempt (attempt.ts) and the watch (protocol/campaign.ts) consult them.
 *
 * @module
 */
import type { LeaderElectionRecord } from "./record.ts";

/** The coordinator asks the holder to step aside for someone else. */
export const askedToYield = (identity: string, record: LeaderElectionRecord): boolean =>
  record.preferredHolder !== "" && record.preferredHolder !== identity;

/**
 * A record naming us that a coordinated candidate may start a term on: the coordinator's
 * assignment (it writes no acquireTime) or what our own last term left, and nobody else
 * preferred. `lastOwn` is the acquireTime of our last term, if any.
 */
export const assignedTo = (identity: string, lastOwn: string | null | undefined, record: LeaderElectionRecord): boolean =>
  record.holderIdentity === identity && (record.acquireTime === null || record.acquireTime === lastOwn) && !askedToYield(identity, record);
