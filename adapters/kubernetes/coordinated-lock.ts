/**
 * The Lease lock of coordinated leader election (KEP-4355; kube-apiserver's
 * CoordinatedLeaderElection feature, beta and off by default): an elector on it registers as a
 * candidate (a LeaseCandidate named after its identity, see lease-candidate.ts) with the versions
 * the coordinator compares, leads only when the coordinator names it, never creates or takes over
 * the Lease, and when the coordinator prefers another candidate, stops its work and releases.
 *
 * @module
 */
import type { Lock } from "../../src/lock.ts";
import { type Candidate, keepLeaseCandidate } from "./lease-candidate.ts";
import { leaseLock, type LeaseLockOptions, namespaceOf } from "./lease-lock.ts";
import type { Cluster } from "./cluster.ts";

/** The strategy kube-apiserver's coordinator implements: the oldest emulation version leads. */
export const OLDEST_EMULATION_VERSION = "OldestEmulationVersion";

export interface CoordinatedLeaseLockOptions extends LeaseLockOptions {
  /** This program's version, semver without "v" (e.g. `1.4.2`). Between equal emulation versions, the older binary leads. */
  readonly binaryVersion: string;
  /** The version whose behaviour it emulates, at most binaryVersion; the oldest leads. Default: binaryVersion. */
  readonly emulationVersion?: string | undefined;
  /** Default `OldestEmulationVersion`, the only one kube-apiserver implements; `<domain>/<name>` for a third-party coordinator. */
  readonly strategy?: string | undefined;
}

export const coordinatedLeaseLock = (cluster: Cluster, options: CoordinatedLeaseLockOptions): Lock => {
  const candidate = candidateOf(options);
  const namespace = namespaceOf(cluster, options.namespace, "coordinatedLeaseLock");
  return {
    ...leaseLock(cluster, options),
    candidacy: (identity, signal, onError) => keepLeaseCandidate(cluster, { namespace, leaseName: options.name }, candidate, identity, signal, onError),
  };
};

// The API server parses strictly (blang/semver Parse): no "v", all three numbers.
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
// A prefixed qualified name, as the API server requires of a third-party strategy.
const QUALIFIED = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** semver order: the numbers, then a prerelease before its release. */
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
 * The candidate, checked by the API server's rules for a LeaseCandidate, so that a bad version
 * fails here and not as a 422 in the background.
 */
const candidateOf = (options: CoordinatedLeaseLockOptions): Candidate => {
  const { binaryVersion } = options;
  const emulationVersion = options.emulationVersion ?? binaryVersion;
  const strategy = options.strategy ?? OLDEST_EMULATION_VERSION;
  const issues = ([["binaryVersion", binaryVersion], ["emulationVersion", emulationVersion]] as const)
    .filter(([, value]) => !(typeof value === "string" && SEMVER.test(value)))
    .map(([field, value]) => `${field} must be a semantic version without "v", such as 1.4.2 (the API server rejects anything else): got ${JSON.stringify(value)}`);
  if (issues.length === 0 && compareVersions(binaryVersion, emulationVersion) < 0) {
    issues.push(`emulationVersion must not be newer than binaryVersion: ${emulationVersion} > ${binaryVersion}`);
  }
  if (typeof strategy !== "string" || (strategy !== OLDEST_EMULATION_VERSION && !QUALIFIED.test(strategy))) {
    issues.push(`strategy must be "${OLDEST_EMULATION_VERSION}" or a third-party "<domain>/<name>": got ${JSON.stringify(strategy)}`);
  }
  if (issues.length > 0) throw new TypeError(`coordinatedLeaseLock: ${issues.join("; ")}`);
  return { binaryVersion, emulationVersion, strategy };
};
