/**
 * What `tenure/kubernetes` offers on every runtime; the per-runtime entries add `inCluster` and
 * `fromKubeconfig` wired to that runtime's transport.
 *
 * @module
 */
export { type Cluster, cluster, type ClusterOptions, type Credentials, type Fetch, tokenCredentials } from "./cluster.ts";
export { type InClusterOptions, SERVICE_ACCOUNT_DIR } from "./in-cluster.ts";
export { type KubeconfigOptions } from "./kubeconfig.ts";
export type { ExecConfig } from "./exec-credential.ts";
export { leaseLock, type LeaseLockOptions } from "./lease-lock.ts";
export { type EventOptions, leadershipEvents, type RecordEvent } from "./events.ts";
export { coordinatedLeaseLock, type CoordinatedLeaseLockOptions, OLDEST_EMULATION_VERSION } from "./coordinated-lock.ts";
export { fileTokenCredentials } from "./token-file.ts";
export { type TlsOptions, UnsupportedError } from "../runtime/runtime.ts";
export { InClusterError, KubeconfigError, type KubeconfigErrorOptions } from "./setup-errors.ts";
export { TenureError } from "../../src/errors.ts";
export { type AnnotationLockOptions, configMapLock, endpointsLock, LEADER_ANNOTATION } from "./annotation-lock.ts";
export { multiLock, UNKNOWN_LEADER } from "./multi-lock.ts";
export { leaseCollection, type LeaseCollectionOptions } from "./lease-collection.ts";
