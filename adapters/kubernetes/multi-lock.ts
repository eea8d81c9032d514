/**
 * client-go's MultiLock, for migrating a fleet from an annotation lock to a Lease without two
 * leaders: both are written together, each against the version the attempt read; a holder mismatch
 * reads as `leaderelection.k8s.io/unknown` (so nobody takes over until it settles); and a change in
 * either counts as the lease being alive, so a new client renewing only the Lease keeps old clients
 * waiting.
 *
 * @module
 */
import { isLockError, type Lock, type LockVersion, type Snapshot } from "../../src/lock.ts";

export const UNKNOWN_LEADER = "leaderelection.k8s.io/unknown";

interface Versions {
  readonly primary: LockVersion;
  readonly secondary: LockVersion | undefined;
}

const notFound = (error: unknown): boolean => isLockError(error) && error.reason === "NotFound";

const combine = (primary: Snapshot, secondary: Snapshot | undefined): Snapshot => ({
  record: secondary === undefined
    ? primary.record
    : secondary.record.holderIdentity === primary.record.holderIdentity
    // The same record in both, but an annotation keeps only whole seconds, which a renew would
    // copy into the Lease's acquireTime, where the API server requires microseconds.
    ? secondary.record
    : {
      ...primary.record,
      holderIdentity: UNKNOWN_LEADER,
      // One side is stale (a released record says 1 s) and we cannot tell which is alive: wait the
      // longer duration, or a live leader writing only the other object would be taken over early.
      leaseDurationSeconds: Math.max(primary.record.leaseDurationSeconds, secondary.record.leaseDurationSeconds),
    },
  version: { primary: primary.version, secondary: secondary?.version } satisfies Versions,
  // client-go compares the concatenated raw records of both.
  change: JSON.stringify([primary.record, secondary?.record ?? null]),
});

/**
 * `primary` is the old lock (endpointsLock / configMapLock), `secondary` the Lease. No watch: it
 * polls. Events, if either lock records them, go on both objects (as client-go's MultiLock).
 */
export const multiLock = (primary: Lock, secondary: Lock): Lock => ({
  description: `${primary.description}+${secondary.description}`,
  ...(primary.recordEvent === undefined && secondary.recordEvent === undefined ? {} : {
    recordEvent: async (message: string, version: unknown, signal: AbortSignal) => {
      const versions = version as Versions;
      await Promise.all([
        primary.recordEvent?.(message, versions.primary, signal),
        versions.secondary === undefined ? undefined : secondary.recordEvent?.(message, versions.secondary, signal),
      ]);
    },
  }),
  get: async (signal) => {
    const first = await primary.get(signal);
    try {
      return combine(first, await secondary.get(signal));
    } catch (error) {
      // Only an old client holds it so far: the primary alone tells.
      if (notFound(error)) return combine(first, undefined);
      throw error;
    }
  },
  create: async (record, signal) => {
    let first: Snapshot;
    try {
      first = await primary.create(record, signal);
    } catch (error) {
      if (!isLockError(error) || error.reason !== "AlreadyExists") throw error;
      first = await primary.get(signal);
    }
    return combine(first, await secondary.create(record, signal));
  },
  update: async (record, version, signal) => {
    const versions = version as Versions;
    const first = await primary.update(record, versions.primary, signal);
    // Against the Lease as this attempt saw it, not as it is now: a Lease-only peer that took it
    // meanwhile wins (Conflict, a lost race), and the holders, now different, read as unknown to
    // every MultiLock, which then waits. client-go re-reads the Lease here and overwrites it.
    try {
      return combine(first, versions.secondary === undefined
        ? await secondary.create(record, signal)
        : await secondary.update(record, versions.secondary, signal));
    } catch (error) {
      if (!notFound(error)) throw error;
      return combine(first, await secondary.create(record, signal));
    }
  },
});
