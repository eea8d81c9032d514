/**
 * The leader election record: what a Lease's spec says about who leads, as client-go's
 * `leaderelection` reads and writes it.
 *
 * Times are kept as the exact text received (`MicroTime`), so microseconds written by another
 * client round-trip unchanged and change detection compares full precision.
 *
 * @module
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** A Kubernetes MicroTime as text, e.g. `2026-11-23T18:43:06.123456Z`. */
export type MicroTime = string;

export interface LeaderElectionRecord {
  /** Who holds the lease; `""` means nobody (released, or never held). */
  readonly holderIdentity: string;
  /** How long others must see the record unchanged before they may take over. */
  readonly leaseDurationSeconds: number;
  readonly acquireTime: MicroTime | null;
  readonly renewTime: MicroTime | null;
  /** How many times the lease changed hands (the fencing epoch). */
  readonly leaseTransitions: number;
  /** Coordinated leader election strategy; `""` when unset. */
  readonly strategy: string;
  /** Coordinated leader election: the holder the coordinator wants next; `""` when unset. */
  readonly preferredHolder: string;
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/** The record of a Lease whose spec is empty. */
export const emptyRecord: LeaderElectionRecord = {
  holderIdentity: "",
  leaseDurationSeconds: 0,
  acquireTime: null,
  renewTime: null,
  leaseTransitions: 0,
  strategy: "",
  preferredHolder: "",
};

/** The last minute formatted (epoch minutes), as `2026-11-23T18:00:`. */
let lastMinute = NaN;
let lastMinuteText = "";

/**
 * Formats a wall-clock instant (epoch milliseconds, fractions allowed) the way the API server
 * requires: UTC, exactly six fractional digits, `Z`. Three digits (`toISOString()`) or nine are
 * rejected with 400 BadRequest. Sub-microseconds are truncated, never rounded (as Go does).
 */
export const formatMicroTime = (epochMs: number): MicroTime => {
  const whole = Math.floor(epochMs);
  // A leader formats a time per renew: a Date and toISOString cost about 1 µs on Node 20, so only
  // the minute comes from them, once a minute; the rest is arithmetic.
  const minute = Math.floor(whole / 6e4);
  if (minute !== lastMinute) {
    lastMinute = minute;
    lastMinuteText = new Date(minute * 6e4).toISOString().slice(0, 17);
  }
  const ms = whole - minute * 6e4;
  return `${lastMinuteText}${pad(ms / 1e3, 100)}.${pad(ms % 1e3, 1e3)}${whole === epochMs ? "000" : microsOf(epochMs, whole)}Z`;
};

/** `n`, truncated, with leading zeros: as many digits as `10^k` has zeros. */
const pad = (n: number, tenToK: number): string => `${tenToK + Math.floor(n)}`.slice(1);

/**
 * The microseconds within the millisecond, truncated, as three digits. For the non-negative
 * epochs the elector writes, this truncates the decimal JavaScript prints for the number (the
 * shortest that round-trips): `586652.288` means 288 µs, although its binary value is
 * 586652.28799999994… and `(x - floor(x)) * 1000` truncates to 287.
 */
const microsOf = (epochMs: number, whole: number): string =>
  epochMs >= 0
    ? (/\.(\d{1,3})\d*$/.exec(String(epochMs))?.[1] ?? "").padEnd(3, "0") // no match for 1e-7 or 1e21: 000
    : String(Math.floor((epochMs - whole) * 1000)).padStart(3, "0");

/** The same instant at second precision, as the legacy annotation records store times. */
export const formatSeconds = (epochMs: number): string =>
  `${new Date(Math.floor(epochMs)).toISOString().slice(0, 19)}Z`;

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

/**
 * Whether two records differ in anything at all. Compares every field, with times as full
 * strings; deliberately not the object's resourceVersion, so label writes by others cannot keep
 * a dead leader alive.
 */
export const sameRecord = (a: LeaderElectionRecord, b: LeaderElectionRecord): boolean =>
  a.holderIdentity === b.holderIdentity &&
  a.leaseDurationSeconds === b.leaseDurationSeconds &&
  a.acquireTime === b.acquireTime &&
  a.renewTime === b.renewTime &&
  a.leaseTransitions === b.leaseTransitions &&
  a.strategy === b.strategy &&
  a.preferredHolder === b.preferredHolder;

/** Epoch milliseconds of a MicroTime or RFC3339 text, for display only; never used to decide. */
export const parseTime = (text: MicroTime | null): number | undefined => {
  if (text === null) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
};
