/**
 * Elector options: defaults, and validation with client-go's messages in client-go's order,
 * followed by ours. Every problem is reported at once.
 *
 * @module
 */
// Only the type: fp-ts's lib/ build is CommonJS, which bundlers cannot shake, and an Either is
// plain data anyway.
import type { Either } from "fp-ts/lib/Either.js";
import type { Clock } from "./clock.ts";
import type { Lock, LockError } from "./lock.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** Fencing information for one term of leadership. */
export interface Term {
  /** Our identity, as written into the Lease. */
  readonly identity: string;
  /** The Lease's `leaseTransitions` when we acquired it: grows with every change of holder. */
  readonly transitions: number;
  /** The `acquireTime` written when this term began. */
  readonly acquireTime: string | null;
}

export interface ElectorOptions {
  /** Where the record lives (`tenure/memory`, `tenure/kubernetes`, or your own). */
  readonly lock: Lock;
  /** Unique per process; `hostname_uuid` is the convention. */
  readonly identity: string;
  /** Milliseconds others wait, from their last sight of a change, before taking over. Whole seconds. Default 15 000. */
  readonly leaseDuration?: number | undefined;
  /** Milliseconds the leader may go without a successful renew before it steps down. Default 10 000. */
  readonly renewDeadline?: number | undefined;
  /** Milliseconds between attempts. Default 2 000. */
  readonly retryPeriod?: number | undefined;
  /** Blank the Lease when `run` ends while leading, so a successor takes over at once. Default false. */
  readonly releaseOnCancel?: boolean | undefined;
  /** Name in health-check messages and metrics. Default: the lock's description. */
  readonly name?: string | undefined;
  /** Per-request timeout while a candidate. Default max(1 s, renewDeadline / 2), as client-go. */
  readonly requestTimeout?: number | undefined;
  /** Followers watch the lock instead of polling, when it can watch. Default true. */
  readonly watch?: boolean | undefined;
  /**
   * Campaign again after leadership is lost for any reason but stopping (renewDeadline passed,
   * another holder seen), instead of ending the run. Each term gets a fresh signal and term; the
   * next starts only once the last one's work has settled. Default false: one-shot, as client-go.
   */
  readonly rejoin?: boolean | undefined;
  /** Runs when we become leader. Work until `signal` aborts: leadership may be lost from then on. */
  readonly onStartedLeading: (signal: AbortSignal, term: Term) => void | Promise<void>;
  /** Runs when `run` ends, always, even if we never led (as client-go). */
  readonly onStoppedLeading: () => void;
  /**
   * Hears about failed requests (not the lost races and missing objects that are part of the
   * protocol): a Forbidden, an unreachable server, a timeout. The elector keeps retrying.
   */
  readonly onError?: ((error: LockError) => void) | undefined;
  /** Runs when the observed holder changes; `""` after a release. */
  readonly onNewLeader?: ((identity: string) => void) | undefined;
  /** Time source; a virtual clock in tests. Default: the system's monotonic clock. */
  readonly clock?: Clock | undefined;
  /** Source of the jitter draw in [0, 1). Default `Math.random`. */
  readonly random?: (() => number) | undefined;
}

/** Validated timing and behaviour, in milliseconds: what the protocol runs on. */
export interface Settings {
  readonly identity: string;
  readonly leaseDuration: number;
  readonly renewDeadline: number;
  readonly retryPeriod: number;
  readonly requestTimeout: number;
  readonly releaseOnCancel: boolean;
  readonly watch: boolean;
  readonly rejoin: boolean;
}

/** client-go's defaults (and component-base's): 15 s, 10 s, 2 s, jitter 1.2. */
export const DEFAULTS: {
  readonly leaseDuration: number;
  readonly renewDeadline: number;
  readonly retryPeriod: number;
  readonly jitterFactor: number;
} = { leaseDuration: 15_000, renewDeadline: 10_000, retryPeriod: 2_000, jitterFactor: 1.2 };

/** Invalid options: `issues` lists every problem, in client-go's order first. */
export class ConfigError extends Error {
  override readonly name: string = "ConfigError";
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid elector options:\n${issues.map((issue) => `  - ${issue}`).join("\n")}`);
    this.issues = issues;
  }
}

// -------------------------------------------------------------------------------------
// validation
// -------------------------------------------------------------------------------------

const KINDS = {
  millis: ["a number of milliseconds", (value: unknown) => typeof value === "number" && Number.isFinite(value)],
  boolean: ["true or false", (value: unknown) => typeof value === "boolean"],
  string: ["a string", (value: unknown) => typeof value === "string"],
  function: ["a function", (value: unknown) => typeof value === "function"],
} as const;

/**
 * The type of every optional field, checked by hand: zod/mini alone would more than double the
 * core's size in a bundle (it validates the kubeconfig files instead, where it earns its keep).
 */
const FIELDS: readonly (readonly [string, keyof typeof KINDS])[] = [
  ["leaseDuration", "millis"],
  ["renewDeadline", "millis"],
  ["retryPeriod", "millis"],
  ["requestTimeout", "millis"],
  ["releaseOnCancel", "boolean"],
  ["watch", "boolean"],
  ["rejoin", "boolean"],
  ["name", "string"],
  ["identity", "string"],
  ["onNewLeader", "function"],
  ["onError", "function"],
  ["random", "function"],
];

const left = <E>(value: E): Either<E, never> => ({ _tag: "Left", left: value });
const right = <A>(value: A): Either<never, A> => ({ _tag: "Right", right: value });

const hasMethods = (value: unknown, methods: readonly string[]): boolean =>
  typeof value === "object" && value !== null &&
  methods.every((method) => typeof (value as Record<string, unknown>)[method] === "function");

/**
 * Checks options and fills in defaults. The first messages are client-go's, verbatim and in its
 * order; ours follow (tenure requires whole seconds because the Lease stores whole seconds, where
 * client-go silently truncates and the server then rejects 0).
 */
export const parseSettings = (options: unknown): Either<ConfigError, Settings> => {
  if (typeof options !== "object" || options === null) {
    return left(new ConfigError(["options must be an object with at least lock, identity, onStartedLeading and onStoppedLeading"]));
  }
  const input = options as Record<string, unknown>;
  const mistyped = FIELDS.filter(([field, kind]) => input[field] !== undefined && !KINDS[kind][1](input[field]));
  const typeIssues = mistyped.map(([field, kind]) => `${field} must be ${KINDS[kind][0]}`);
  const bad = new Set(mistyped.map(([field]) => field));
  const number = (key: string, fallback: number): number | undefined =>
    bad.has(key) ? undefined : ((input[key] as number | undefined) ?? fallback);

  const leaseDuration = number("leaseDuration", DEFAULTS.leaseDuration);
  const renewDeadline = number("renewDeadline", DEFAULTS.renewDeadline);
  const retryPeriod = number("retryPeriod", DEFAULTS.retryPeriod);
  const identity = bad.has("identity") ? undefined : ((input["identity"] as string | undefined) ?? "");

  const issues: string[] = [];
  // client-go's NewLeaderElector, in order.
  if (leaseDuration !== undefined && renewDeadline !== undefined && leaseDuration <= renewDeadline) {
    issues.push("leaseDuration must be greater than renewDeadline");
  }
  if (renewDeadline !== undefined && retryPeriod !== undefined && renewDeadline <= DEFAULTS.jitterFactor * retryPeriod) {
    issues.push("renewDeadline must be greater than retryPeriod*JitterFactor");
  }
  if (leaseDuration !== undefined && leaseDuration <= 0) issues.push("leaseDuration must be greater than zero");
  if (renewDeadline !== undefined && renewDeadline <= 0) issues.push("renewDeadline must be greater than zero");
  if (retryPeriod !== undefined && retryPeriod <= 0) issues.push("retryPeriod must be greater than zero");
  if (typeof input["onStartedLeading"] !== "function") issues.push("OnStartedLeading callback must not be nil");
  if (typeof input["onStoppedLeading"] !== "function") issues.push("OnStoppedLeading callback must not be nil");
  if (input["lock"] === undefined || input["lock"] === null) issues.push("Lock must not be nil.");
  if (identity === "") issues.push("Lock identity is empty");

  // Ours.
  issues.push(...typeIssues);
  if (input["lock"] !== undefined && input["lock"] !== null && !hasMethods(input["lock"], ["get", "create", "update"])) {
    issues.push("lock must have get, create and update methods (use memoryLock, leaseLock or your own Lock)");
  }
  if (input["clock"] !== undefined && !hasMethods(input["clock"], ["now", "wall", "setTimer"])) {
    issues.push("clock must have now, wall and setTimer methods");
  }
  if (leaseDuration !== undefined && leaseDuration > 0) {
    if (leaseDuration < 1000) {
      issues.push(`leaseDuration must be at least 1 second (1000 ms): got ${leaseDuration} ms`);
    } else if (!Number.isInteger(leaseDuration / 1000)) {
      const down = Math.floor(leaseDuration / 1000) * 1000;
      issues.push(
        `leaseDuration must be a whole number of seconds, because the Lease stores whole seconds: got ${leaseDuration} ms; use ${down} or ${down + 1000}`,
      );
    }
  }
  const requestTimeout = number("requestTimeout", Math.max(1000, (renewDeadline ?? DEFAULTS.renewDeadline) / 2));
  if (input["requestTimeout"] !== undefined && requestTimeout !== undefined && requestTimeout <= 0) {
    issues.push("requestTimeout must be greater than zero");
  }

  if (issues.length > 0) return left(new ConfigError(issues));
  return right({
    identity: identity as string,
    leaseDuration: leaseDuration as number,
    renewDeadline: renewDeadline as number,
    retryPeriod: retryPeriod as number,
    requestTimeout: requestTimeout as number,
    releaseOnCancel: (input["releaseOnCancel"] as boolean | undefined) ?? false,
    watch: (input["watch"] as boolean | undefined) ?? true,
    rejoin: (input["rejoin"] as boolean | undefined) ?? false,
  });
};
