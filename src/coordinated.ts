/**
 * Coordinated leader election (KEP-4355): the API server's coordinator picks the leader among
 * registered candidates and writes its name into the Lease; electors only renew what they were
 * given, and step aside when the coordinator names a better candidate in `preferredHolder`.
 *
 * This module holds the options, their validation, and the rules of the mode as pure functions;
 * the attempt (attempt.ts) and the watch (protocol/campaign.ts) consult them when `coordinated`
 * is set. The candidate itself (a LeaseCandidate kept alive beside the elector) is the Lock's
 * `candidacy`.
 *
 * @module
 */
import type { LeaderElectionRecord } from "./record.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The strategy kube-apiserver's coordinator implements: the oldest emulation version leads. */
export const OLDEST_EMULATION_VERSION = "OldestEmulationVersion";

export interface CoordinatedOptions {
  /** This program's version, semver without "v" (e.g. `1.4.2`). Between equal emulation versions, the older binary leads. */
  readonly binaryVersion: string;
  /** The version whose behaviour it emulates, at most binaryVersion. Default: binaryVersion. */
  readonly emulationVersion?: string | undefined;
  /** Default `OldestEmulationVersion`, the only strategy kube-apiserver implements; `<domain>/<name>` for a third-party coordinator. */
  readonly strategy?: string | undefined;
}

/** What the elector registers with the coordinator (a LeaseCandidate named after `identity`). */
export interface Candidate {
  readonly identity: string;
  readonly binaryVersion: string;
  readonly emulationVersion: string;
  readonly strategy: string;
}

// -------------------------------------------------------------------------------------
// validation
// -------------------------------------------------------------------------------------

// The API server parses strictly (blang/semver Parse): no "v", all three numbers.
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
// A qualified name with a prefix, as the API server requires of third-party strategies.
const QUALIFIED = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** Compares two valid semvers by their numbers (prerelease sorts before release). */
const compareVersions = (a: string, b: string): number => {
  const pa = SEMVER.exec(a) as RegExpExecArray;
  const pb = SEMVER.exec(b) as RegExpExecArray;
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  return pa[4] === pb[4] ? 0 : pa[4] === undefined ? 1 : pb[4] === undefined ? -1 : (pa[4] as string) < (pb[4] as string) ? -1 : 1;
};

/**
 * Checks the `coordinated` option with the API server's rules for a LeaseCandidate, so a bad
 * version fails at `createElector` and not as a 422 in the background. Returns the candidate
 * (identity filled in by the caller) or the issues.
 */
export const parseCoordinated = (input: unknown): { readonly issues: string[]; readonly value?: Omit<Candidate, "identity"> } => {
  if (input === undefined) return { issues: [] };
  if (typeof input !== "object" || input === null) {
    return { issues: ["coordinated must be an object: { binaryVersion, emulationVersion?, strategy? }"] };
  }
  const options = input as Record<string, unknown>;
  const issues: string[] = [];
  const binaryVersion = options["binaryVersion"];
  const emulationVersion = options["emulationVersion"] ?? binaryVersion;
  const strategy = options["strategy"] ?? OLDEST_EMULATION_VERSION;
  const version = (field: string, value: unknown): boolean => {
    if (typeof value === "string" && SEMVER.test(value)) return true;
    issues.push(`coordinated.${field} must be a semantic version without "v", such as 1.4.2 (the API server rejects anything else): got ${JSON.stringify(value)}`);
    return false;
  };
  const versions = version("binaryVersion", binaryVersion) && version("emulationVersion", emulationVersion);
  if (versions && compareVersions(binaryVersion as string, emulationVersion as string) < 0) {
    issues.push(`coordinated.emulationVersion must not be newer than binaryVersion: ${emulationVersion} > ${binaryVersion}`);
  }
  if (typeof strategy !== "string" || (strategy !== OLDEST_EMULATION_VERSION && !QUALIFIED.test(strategy))) {
    issues.push(`coordinated.strategy must be "${OLDEST_EMULATION_VERSION}" or a third-party "<domain>/<name>": got ${JSON.stringify(strategy)}`);
  }
  return issues.length > 0
    ? { issues }
    : { issues, value: { binaryVersion: binaryVersion as string, emulationVersion: emulationVersion as string, strategy: strategy as string } };
};

// -------------------------------------------------------------------------------------
// rules
// -------------------------------------------------------------------------------------

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
