/**
 * The Lock port: how the elector reads and writes the one object that holds the record.
 * The core never touches the network; a Lock brings the record in. Implementations:
 * `tenure/memory` (in-process, exact API server semantics) and `tenure/kubernetes`.
 *
 * @module
 */
import type { LeaderElectionRecord } from "./record.ts";
import { TenureError } from "./errors.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * What a Lock hands back with every record: an opaque token that the next `update` writes
 * against (for Kubernetes, the last-seen object with its resourceVersion). The core never looks
 * inside it.
 */
export type LockVersion = unknown;

/** A record as read or written, with the version to write against next. */
export interface Snapshot {
  readonly record: LeaderElectionRecord;
  readonly version: LockVersion;
  /**
   * Optional text that also counts when judging whether the lease changed (client-go's raw
   * record). A MultiLock puts its secondary's record here, so that a holder renewing only the
   * secondary still shows as alive.
   */
  readonly change?: string;
}

/** One event of a watch on the lock's object. */
export type LockEvent =
  | { readonly _tag: "changed"; readonly snapshot: Snapshot }
  | { readonly _tag: "deleted"; readonly version: LockVersion }
  /** No change, but a later point to resume from (a Kubernetes BOOKMARK). */
  | { readonly _tag: "progress"; readonly version: LockVersion };

export interface Lock {
  /** `namespace/name`, for messages, metrics and health checks. */
  readonly description: string;
  /** Reads the record; rejects with a `NotFound` LockError when the object does not exist. */
  get(signal: AbortSignal): Promise<Snapshot>;
  /** Creates the object; rejects with `AlreadyExists` when someone else created it first. */
  create(record: LeaderElectionRecord, signal: AbortSignal): Promise<Snapshot>;
  /**
   * Replaces the record in the object last seen as `version`; rejects with `Conflict` when the
   * object changed since (compare-and-swap).
   */
  update(record: LeaderElectionRecord, version: LockVersion, signal: AbortSignal): Promise<Snapshot>;
  /**
   * Optional: opens a stream of the changes after `version` (after the current state when
   * `version` is undefined: the stream then starts with the object as it is). Resolves once the
   * stream is open; it ends when the signal aborts or the server closes it. Fails with `Expired`
   * when `version` is too old to resume from.
   */
  watch?(version: LockVersion | undefined, signal: AbortSignal): Promise<AsyncIterable<LockEvent>>;
  /**
   * Optional; its presence makes the elector coordinated (see coordinated.ts): registers the
   * candidate `identity` with the coordinator and keeps it registered until `signal` aborts, then
   * withdraws it. Resolves once withdrawn; failures go to `onError` (it keeps trying), never reject.
   */
  candidacy?(identity: string, signal: AbortSignal, onError: (error: LockError) => void): Promise<void>;
  /**
   * Optional, when the lock was asked to record events: records a leadership event (`message`,
   * e.g. `a became leader`) on the object as last seen (`version`). Rejects when the write fails;
   * the elector reports that and carries on.
   */
  recordEvent?(message: string, version: LockVersion, signal: AbortSignal): Promise<void>;
}

// -------------------------------------------------------------------------------------
// errors
// -------------------------------------------------------------------------------------

/** Why a lock operation failed. `Conflict` and `AlreadyExists` both lose a race; the rest are faults. */
export type LockErrorReason =
  | "NotFound"
  | "Conflict"
  | "AlreadyExists"
  | "Expired"
  | "BadRequest"
  | "Unauthorized"
  | "Forbidden"
  | "Invalid"
  | "TooManyRequests"
  | "ServerError"
  | "Timeout"
  | "Network"
  | "Decode"
  | "Unknown";

export interface LockErrorOptions {
  readonly cause?: unknown;
  /** HTTP status, when there was one. */
  readonly status?: number | undefined;
  /** Milliseconds the server asked us to wait (Retry-After). */
  readonly retryAfter?: number | undefined;
}

/** A failed lock operation. `reason` says which kind; the message says what to do. */
export class LockError extends TenureError {
  override readonly name: string = "LockError";
  readonly reason: LockErrorReason;
  readonly status: number | undefined;
  readonly retryAfter: number | undefined;

  constructor(reason: LockErrorReason, message: string, options: LockErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.reason = reason;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
  }
}

/** Works across realms and copies of the package, where `instanceof` does not. */
export const isLockError = (error: unknown): error is LockError =>
  error instanceof LockError ||
  (typeof error === "object" && error !== null && typeof (error as { reason?: unknown }).reason === "string" &&
    (error as { name?: unknown }).name === "LockError");

/** The reason of any thrown value, `Unknown` for things that are not LockErrors. */
export const reasonOf = (error: unknown): LockErrorReason => {
  if (isLockError(error)) return error.reason;
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return "Timeout";
  return "Unknown";
};
