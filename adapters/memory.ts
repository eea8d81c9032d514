/**
 * `tenure/memory`: an in-process Lease store with the API server's semantics, and a Lock on it.
 * For tests (yours and ours), demos, and single-process use.
 *
 * @module
 */
export { type MemoryStoreOptions, MemoryLeaseStore, type MemoryVersion, type LoggedOperation, type StoredLease } from "./memory/store.ts";
export { type Fault, type FaultPlan, type MemoryLock, type MemoryLockOptions, type MemoryOp, memoryLock } from "./memory/lock.ts";
export { type MemoryCollection, memoryCollection, type MemoryCollectionOptions } from "./memory/collection.ts";
