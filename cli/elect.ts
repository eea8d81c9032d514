/**
 * The lock and the elector, from the flags: `--rejoin` (always on for `serve`) is the elector's own
 * `rejoin`, so one elector campaigns again after each loss and `run` ends only when it is stopped.
 *
 * @module
 */
import { type Cluster, coordinatedLeaseLock, leadershipEvents, leaseLock } from "../adapters/kubernetes/index.ts";
import { ConfigError, createElector, type Elector, type ElectorOptions, LeadershipLostError, type Lock } from "../src/index.ts";
import { asFlags, type ElectionFlags, UsageError } from "./options.ts";

/** The Lease lock the flags ask for: with leadership Events (--events), coordinated (--coordinated). */
export const lockOf = (kube: Cluster, flags: ElectionFlags): Lock => {
  const options = {
    ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
    name: flags.lease,
    ...(flags.events === undefined ? {} : { events: leadershipEvents(kube, flags.events) }),
  };
  if (flags.coordinated === undefined) return leaseLock(kube, options);
  try {
    return coordinatedLeaseLock(kube, { ...options, ...flags.coordinated });
  } catch (error) {
    // Versions the API server would refuse, in the flags' words.
    throw error instanceof TypeError ? new UsageError(asFlags(error.message)) : error;
  }
};

export type Callbacks = Pick<ElectorOptions, "onStartedLeading" | "onStoppedLeading">;

export const elect = (lock: Lock, flags: ElectionFlags, log: (text: string) => void, callbacks: Callbacks): Elector => {
  try {
    return createElector({
      lock,
      identity: flags.identity,
      name: flags.lease,
      leaseDuration: flags.leaseDuration,
      renewDeadline: flags.renewDeadline,
      retryPeriod: flags.retryPeriod,
      rejoin: flags.rejoin,
      // Always: a successor should not wait out the lease after a clean stop.
      releaseOnCancel: true,
      onNewLeader: (leader) => log(leader === "" ? `lease ${lock.description} is free` : `leader of ${lock.description} is now ${leader}`),
      onError: (error) => log(`warning: ${error.reason}: ${error.message}`),
      ...callbacks,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.issues.map(asFlags).join("; "));
    throw error;
  }
};

/** Why the leader's signal aborted, in words. */
export const lossText = (reason: unknown): string => {
  if (!(reason instanceof LeadershipLostError)) return "stopped";
  const loss = reason.loss;
  switch (loss._tag) {
    case "holder":
      return `${loss.holder} now holds the lease`;
    case "yield":
      return `the coordinator prefers ${loss.holder}`;
    case "renewDeadline":
      return "no renew succeeded within --renew-deadline";
    case "failed":
      return "a renew failed";
    case "stopped":
      return "stopped";
  }
};
