/**
 * Health and metrics of an elector, from its protocol state.
 *
 * @module
 */
import type { Settings } from "./config.ts";
import type { State } from "./protocol.ts";

/**
 * client-go's `Check`: an error only when we lead and nothing was renewed for
 * leaseDuration + tolerance (a wedged leader); otherwise `undefined`, followers included.
 */
export const checkHealth = (
  settings: Settings,
  name: string,
  state: State,
  mono: number,
  tolerance: number,
): Error | undefined =>
  // A leader has always written: lastWrite is set when it wins.
  state.phase._tag === "leader" && mono - (state.lastWrite as number) > settings.leaseDuration + tolerance
    ? new Error(`failed election to renew leadership on lease ${name}`)
    : undefined;

/** A snapshot in the terms of client-go's two metrics, plus what users ask for most. */
export interface ElectorMetrics {
  /** The lease name, client-go's metric label. */
  readonly name: string;
  /** `leader_election_master_status`: 1 while leading. */
  readonly masterStatus: 0 | 1;
  /** `leader_election_slowpath_total`: renewals that had to read the lease first. */
  readonly slowpathTotal: number;
  /** Milliseconds since our last successful write, if any. */
  readonly sinceLastWrite: number | undefined;
  /** The holder we last observed, `""` for none. */
  readonly observedHolder: string;
  /** The observed `leaseTransitions`. */
  readonly transitions: number | undefined;
}

export const metricsOf = (name: string, state: State, mono: number, leading: boolean): ElectorMetrics => ({
  name,
  masterStatus: leading ? 1 : 0,
  slowpathTotal: state.slowpath,
  sinceLastWrite: state.lastWrite === undefined ? undefined : mono - state.lastWrite,
  observedHolder: state.observation?.record.holderIdentity ?? "",
  transitions: state.observation?.record.leaseTransitions,
});

/** What a health check needs of an elector. */
export interface Checkable {
  check(tolerance?: number): Error | undefined;
}

/**
 * client-go's HealthzAdaptor, for a `/healthz` handler created before the elector: healthy until
 * an elector is set, then the elector's `check(tolerance)` (kube-controller-manager uses 20 s).
 */
export interface HealthzAdaptor {
  readonly name: "leaderElection";
  setElector(elector: Checkable): void;
  check(): Error | undefined;
}

export const healthzAdaptor = (tolerance: number): HealthzAdaptor => {
  let elector: Checkable | undefined;
  return {
    name: "leaderElection",
    setElector: (next) => void (elector = next),
    check: () => elector?.check(tolerance),
  };
};
