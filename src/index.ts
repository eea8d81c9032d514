/**
 * tenure: Kubernetes leader election with client-go's protocol, as a pure core plus a driver.
 *
 * @module
 */
export { createElector, type Elector, LeadershipLostError } from "./elector.ts";
export { ConfigError, DEFAULTS, type ElectorOptions, parseSettings, type Settings, type Term } from "./config.ts";
export { type Clock, systemClock } from "./clock.ts";
export { TenureError } from "./errors.ts";
export { isLockError, type Lock, LockError, type LockErrorOptions, type LockErrorReason, type LockEvent, type LockVersion, type Snapshot } from "./lock.ts";
export { emptyRecord, formatMicroTime, formatSeconds, type LeaderElectionRecord, type MicroTime, parseTime, sameRecord } from "./record.ts";
export { type Checkable, type ElectorMetrics, healthzAdaptor, type HealthzAdaptor } from "./health.ts";
// The pure protocol, for those who drive it themselves or test against it.
export { type Command, type Event, initial, leading, type Loss, nextWake, type Phase, type State, step } from "./protocol.ts";
export type { Now, Outcome, Request, Observation } from "./protocol/attempt.ts";
