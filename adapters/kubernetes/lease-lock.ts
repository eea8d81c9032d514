/**
 * A Lock on a `coordination.k8s.io/v1` Lease, as client-go's LeaseLock: the record is the Lease's
 * spec (see object-lock.ts for the requests).
 *
 * @module
 */
import type { Lock } from "../../src/lock.ts";
import type { Cluster } from "./cluster.ts";
import { objectLock, type ObjectLockOptions, type RecordCodec, withLabels } from "./object-lock.ts";

export { namespaceOf } from "./object-lock.ts";
import { decodeLease, recordOfSpec, specOfRecord } from "./wire.ts";

export type LeaseLockOptions = ObjectLockOptions;

/** The record as a Lease's spec. */
export const leaseCodec: RecordCodec = {
  resource: "leases",
  qualified: "leases.coordination.k8s.io",
  api: "/apis/coordination.k8s.io/v1",
  kind: "Lease",
  apiVersion: "coordination.k8s.io/v1",
  protobuf: true,
  read: (body) => {
    const lease = decodeLease(body);
    return { record: recordOfSpec(lease.spec), version: lease };
  },
  create: ({ name, namespace }, record, labels) => ({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace, ...(Object.keys(labels).length > 0 ? { labels } : {}) },
    spec: specOfRecord(record),
  }),
  update: (last, record, labels) => ({ ...last, metadata: withLabels(last, labels), spec: specOfRecord(record) }),
  patch: (last, record, labels) => {
    const before = (last["spec"] ?? {}) as Readonly<Record<string, unknown>>;
    const after = specOfRecord(record) as Readonly<Record<string, unknown>>;
    // The fields that differ (`!=`: absent and null are the same); null removes one, as the PUT's
    // new spec would not have it.
    const spec: Record<string, unknown> = {};
    for (const key in { ...before, ...after }) if (before[key] != after[key]) spec[key] = after[key] ?? null;
    const relabel = Object.keys(labels).some((key) => last.metadata.labels?.[key] !== labels[key]);
    return { metadata: { resourceVersion: last.metadata.resourceVersion, ...(relabel ? { labels } : {}) }, spec };
  },
};

export const leaseLock = (cluster: Cluster, options: LeaseLockOptions): Lock => objectLock(cluster, options, leaseCodec);
