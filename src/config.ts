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
import { TenureError } from "./errors.ts";

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
  /**
   * Milliseconds the leader may go without a successful renew (timed from its write) before it
   * steps down. More than 1.2 x retryPeriod (client-go) and more than 1 200: client-go's
   * followers see renewTime to the second, so renews count once a second. A leader holds a
   * healthy lock whenever a round trip L has L + max(L, retryPeriod, 1 s) < renewDeadline.
   * Default 10 000.
   */
  readonly renewDeadline?: number | undefined;
  /**
   * Milliseconds between attempts: a leader renews retryPeriod after its last renew's write (but
   * at most once in each second of the wall clock), a candidate retries after a jittered period.
   * Default 2 000.
   */
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
  /**
   * Coordinated leader election (KEP-4355), when the lock keeps a candidacy
   * (`coordinatedLeaseLock`): lead only when the API server's coordinator names us, never create
   * or take over the Lease, and when it prefers another candidate, stop the work and release.
   */
  readonly coordinated?: boolean | undefined;
}

/** client-go's defaults (and component-base's): 15 s, 10 s, 2 s, jitter 1.2. */
export const DEFAULTS: {
  readonly leaseDuration: number;
  readonly renewDeadline: number;
  readonly retryPeriod: number;
  readonly jitterFactor: number;
} = { leaseDuration: 15_000, renewDeadline: 10_000, retryPeriod: 2_000, jitterFactor: 1.2 };

/** Invalid options: `issues` lists every problem, in client-go's order first. */
export class ConfigError extends TenureError {
  override readonly name: string = "ConfigError";
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid elector options:\n  - ${issues.join("\n  - ")}`);
    this.issues = issues;
  }
}

// -------------------------------------------------------------------------------------
// validation
// -------------------------------------------------------------------------------------

/**
 * The type of every optional field, checked by hand: zod/mini alone would more than double the
 * core's size in a bundle (it validates the kubeconfig files instead, where it earns its keep).
 * Per kind: what it must be, and its fields. `millis` is a finite number; the others are `typeof`.
 */
const KINDS = [
  ["millis", "a number of milliseconds", "leaseDuration renewDeadline retryPeriod requestTimeout"],
  ["boolean", "true or false", "releaseOnCancel watch rejoin"],
  ["string", "a string", "name identity"],
  ["function", "a function", "onNewLeader onError random"],
] as const;


const hasMethods = (value: unknown, methods: readonly string[]): boolean =>
  methods.every((method) => typeof Object(value)[method] === "function");

/**
 * Checks options and fills in defaults. The first messages are client-go's, verbatim and in its
 * order; ours follow (tenure requires whole seconds because the Lease stores whole seconds, where
 * client-go silently truncates and the server then rejects 0; and a renewDeadline that renews
 * once a second can meet).
 */
export const parseSettings = (options: unknown): Either<ConfigError, Settings> => {
  // Anything but an object has none of the required options, and client-go's messages name them.
  const input = Object(options) as Record<string, unknown>;
  const typeIssues: string[] = [];
  const bad = new Set<string>();
  for (const [kind, what, fields] of KINDS) {
    for (const field of fields.split(" ")) {
      const value = input[field];
      if (value !== undefined && (kind === "millis" ? !Number.isFinite(value) : typeof value !== kind)) {
        bad.add(field);
        typeIssues.push(`${field} must be ${what}`);
      }
    }
  }
  // A mistyped duration is NaN, which every comparison below finds false: the checks that need it
  // are skipped without a guard each (its type issue is reported instead).
  const number = (key: string, fallback: number = DEFAULTS[key as keyof typeof DEFAULTS]): number =>
    bad.has(key) ? NaN : ((input[key] as number | undefined) ?? fallback);

  const leaseDuration = number("leaseDuration");
  const renewDeadline = number("renewDeadline");
  const retryPeriod = number("retryPeriod");
  // Mistyped, it is not "" either: only its type issue is reported.
  const identity = input["identity"] ?? "";

  const issues: string[] = [];
  // client-go's NewLeaderElector, in order.
  if (leaseDuration <= renewDeadline) issues.push("leaseDuration must be greater than renewDeadline");
  if (renewDeadline <= DEFAULTS.jitterFactor * retryPeriod) issues.push("renewDeadline must be greater than retryPeriod*JitterFactor");
  if (leaseDuration <= 0) issues.push("leaseDuration must be greater than zero");
  if (renewDeadline <= 0) issues.push("renewDeadline must be greater than zero");
  if (retryPeriod <= 0) issues.push("retryPeriod must be greater than zero");
  if (typeof input["onStartedLeading"] !== "function") issues.push("OnStartedLeading callback must not be nil");
  if (typeof input["onStoppedLeading"] !== "function") issues.push("OnStoppedLeading callback must not be nil");
  // `== null`: undefined or null, as Go's nil.
  if (input["lock"] == null) issues.push("Lock must not be nil.");
  if (identity === "") issues.push("Lock identity is empty");

  // Ours.
  issues.push(...typeIssues);
  if (input["lock"] != null && !hasMethods(input["lock"], ["get", "create", "update"])) {
    issues.push("lock must have get, create and update methods (use memoryLock, leaseLock or your own Lock)");
  }
  if (input["clock"] !== undefined && !hasMethods(input["clock"], ["now", "wall", "setTimer"])) {
    issues.push("clock must have now, wall and setTimer methods");
  }
  if (leaseDuration > 0) {
    if (leaseDuration < 1000) {
      issues.push(`leaseDuration must be at least 1 second (1000 ms): got ${leaseDuration} ms`);
    } else if (leaseDuration % 1000) {
      const down = leaseDuration - (leaseDuration % 1000);
      issues.push(
        `leaseDuration must be a whole number of seconds, because the Lease stores whole seconds: got ${leaseDuration} ms; use ${down} or ${down + 1000}`,
      );
    }
  }
  // client-go's followers compare renewTime to the second, so renews count once a second whatever
  // retryPeriod says: a second must fit in renewDeadline as retryPeriod must, with the same 20 %
  // left for the round trip. From retryPeriod 1 s on, client-go's own check is the stricter one.
  if (renewDeadline > 0 && renewDeadline <= 1200 && !(retryPeriod >= 1000)) {
    issues.push(
      `renewDeadline must be greater than 1200 ms, because client-go's followers see renewTime to the second, so renews count once a second: got ${renewDeadline} ms; use 1201 or more`,
    );
  }
  // The default is positive, or NaN when renewDeadline is mistyped.
  const requestTimeout = number("requestTimeout", Math.max(1000, renewDeadline / 2));
  if (requestTimeout <= 0) issues.push("requestTimeout must be greater than zero");

  if (issues.length > 0) return { _tag: "Left", left: new ConfigError(issues) };
  return {
    _tag: "Right",
    right: {
      identity: identity as string,
      leaseDuration,
      renewDeadline,
      retryPeriod,
      requestTimeout,
      releaseOnCancel: (input["releaseOnCancel"] as boolean | undefined) ?? false,
      watch: (input["watch"] as boolean | undefined) ?? true,
      rejoin: (input["rejoin"] as boolean | undefined) ?? false,
      ...(hasMethods(input["lock"], ["candidacy"]) ? { coordinated: true } : {}),
    },
  };
};
