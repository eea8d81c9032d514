/**
 * The original lock design, still used by older clusters and clients: the record as JSON in the
 * annotation `control-plane.alpha.kubernetes.io/leader` of an Endpoints or ConfigMap, with times in
 * RFC3339 whole seconds and the transitions field named `leaderTransitions`. Other annotations
 * are kept. The Endpoints API is deprecated: the server's warning is reported once.
 *
 * @module
 */
import * as t from "io-ts";
import { type Lock, LockError } from "../../src/lock.ts";
import { emptyRecord, type LeaderElectionRecord, parseTime } from "../../src/record.ts";
import type { Cluster } from "./cluster.ts";
import type { RecordEvent } from "./events.ts";
import { objectLock, type RecordCodec } from "./object-lock.ts";
import { decodeObject } from "./wire.ts";

export const LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader";

export interface AnnotationLockOptions {
  /** Default: the cluster's namespace. */
  readonly namespace?: string;
  readonly name: string;
  /** Record leadership Events on the object, as client-go (before v0.24) does with an EventRecorder: `leadershipEvents(cluster, { component })`. Default: none. */
  readonly events?: RecordEvent | undefined;
}


interface Kind {
  readonly resource: "endpoints" | "configmaps";
  readonly kind: "Endpoints" | "ConfigMap";
}

/** client-go's `endpoints` lock (removed from client-go in v0.24). */
export const endpointsLock = (cluster: Cluster, options: AnnotationLockOptions): Lock =>
  objectLock(cluster, options, annotationCodec({ resource: "endpoints", kind: "Endpoints" }));

/** client-go's `configmaps` lock (removed from client-go in v0.24). */
export const configMapLock = (cluster: Cluster, options: AnnotationLockOptions): Lock =>
  objectLock(cluster, options, annotationCodec({ resource: "configmaps", kind: "ConfigMap" }));

/** The record as the JSON of an annotation, other annotations kept. */
const annotationCodec = (kind: Kind): RecordCodec => ({
  resource: kind.resource,
  qualified: kind.resource,
  api: "/api/v1",
  kind: kind.kind,
  apiVersion: "v1",
  read: (body, name) => {
    const object = decodeObject(body);
    return { record: recordOfAnnotation(object.metadata.annotations?.[LEADER_ANNOTATION], kind, name), version: object };
  },
  create: (meta, record) => ({ apiVersion: "v1", kind: kind.kind, metadata: { ...meta, annotations: { [LEADER_ANNOTATION]: annotationOf(record) } } }),
  update: (last, record) => ({
    ...last,
    metadata: { ...last.metadata, annotations: { ...last.metadata.annotations, [LEADER_ANNOTATION]: annotationOf(record) } },
  }),
});

// -------------------------------------------------------------------------------------
// the annotation's JSON
// -------------------------------------------------------------------------------------

const time = t.union([t.string, t.null]);
const legacyRecord = t.partial({
  holderIdentity: t.string,
  leaseDurationSeconds: t.number,
  acquireTime: time,
  renewTime: time,
  leaderTransitions: t.number,
  strategy: t.string,
  preferredHolder: t.string,
});

/** The record in the annotation; a missing annotation is the empty record, as in client-go. */
const recordOfAnnotation = (text: string | undefined, kind: Kind, name: string): LeaderElectionRecord => {
  if (text === undefined || text === "") return emptyRecord;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new LockError("Decode", `the ${LEADER_ANNOTATION} annotation of ${kind.resource} ${name} is not JSON: ${text.slice(0, 80)}`);
  }
  const decoded = legacyRecord.decode(json);
  if (decoded._tag === "Left" || typeof json !== "object" || json === null) {
    throw new LockError("Decode", `the ${LEADER_ANNOTATION} annotation of ${kind.resource} ${name} is not a leader election record: ${text.slice(0, 80)}`);
  }
  const r = decoded.right;
  return {
    holderIdentity: r.holderIdentity ?? "",
    leaseDurationSeconds: r.leaseDurationSeconds ?? 0,
    acquireTime: r.acquireTime ?? null,
    renewTime: r.renewTime ?? null,
    leaseTransitions: r.leaderTransitions ?? 0,
    strategy: r.strategy ?? "",
    preferredHolder: r.preferredHolder ?? "",
  };
};

/** Whole seconds, UTC, as Go's metav1.Time writes them. */
const seconds = (text: string | null): string | null => {
  const ms = parseTime(text);
  return ms === undefined ? null : `${new Date(ms).toISOString().slice(0, 19)}Z`;
};

/** The annotation's JSON, fields in client-go's order (the pre-1.31 five). */
const annotationOf = (record: LeaderElectionRecord): string =>
  JSON.stringify({
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: seconds(record.acquireTime),
    renewTime: seconds(record.renewTime),
    leaderTransitions: record.leaseTransitions,
  });
