/**
 * The Kubernetes JSON we read, decoded with io-ts at the edge: Lease, Status and watch events.
 * Anything else (a wrong type, a missing field we rely on) becomes a `Decode` LockError; the
 * codecs stay private so no io-ts type leaks into the public API.
 *
 * @module
 */
import * as t from "io-ts";
import { LockError } from "../../src/lock.ts";
import { emptyRecord, type LeaderElectionRecord } from "../../src/record.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** A Kubernetes object as received: kept whole so that an update sends back what others wrote. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

/** `coordination.k8s.io/v1` LeaseSpec, every field optional as on the wire. */
export interface LeaseSpec {
  readonly holderIdentity?: string | null;
  readonly leaseDurationSeconds?: number | null;
  readonly acquireTime?: string | null;
  readonly renewTime?: string | null;
  readonly leaseTransitions?: number | null;
  readonly strategy?: string | null;
  readonly preferredHolder?: string | null;
}

export interface Status {
  readonly kind: "Status";
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
  readonly details?: { readonly retryAfterSeconds?: number; readonly causes?: readonly { readonly message?: string }[] };
}

export type WatchEvent =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: KubeObject }
  /** Only `metadata.resourceVersion` is meaningful in a bookmark's object. */
  | { readonly type: "BOOKMARK"; readonly object: { readonly metadata: { readonly resourceVersion?: string } } }
  | { readonly type: "ERROR"; readonly object: Status };

// -------------------------------------------------------------------------------------
// codecs
// -------------------------------------------------------------------------------------

const nullable = <C extends t.Mixed>(codec: C) => t.union([codec, t.null]);
const int32 = t.refinement(t.number, (n) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647, "int32");

const metadata = t.intersection([
  t.type({ name: t.string }),
  t.partial({
    namespace: t.string,
    uid: t.string,
    resourceVersion: t.string,
    labels: nullable(t.record(t.string, t.string)),
    annotations: nullable(t.record(t.string, t.string)),
  }),
]);

const object = t.intersection([t.type({ metadata }), t.partial({ apiVersion: t.string, kind: t.string })]);

const leaseSpec = t.partial({
  holderIdentity: nullable(t.string),
  leaseDurationSeconds: nullable(int32),
  acquireTime: nullable(t.string),
  renewTime: nullable(t.string),
  leaseTransitions: nullable(int32),
  strategy: nullable(t.string),
  preferredHolder: nullable(t.string),
});

const lease = t.intersection([object, t.partial({ spec: nullable(leaseSpec) })]);

const status = t.intersection([
  t.type({ kind: t.literal("Status") }),
  t.partial({
    status: t.string,
    message: t.string,
    reason: t.string,
    code: t.number,
    details: nullable(
      t.partial({
        retryAfterSeconds: t.number,
        causes: nullable(t.array(t.partial({ message: t.string }))),
      }),
    ),
  }),
]);

const watchEvent = t.union([
  t.type({ type: t.keyof({ ADDED: null, MODIFIED: null, DELETED: null }), object }),
  t.type({ type: t.literal("BOOKMARK"), object: t.type({ metadata: t.partial({ resourceVersion: t.string }) }) }),
  t.type({ type: t.literal("ERROR"), object: status }),
]);

// -------------------------------------------------------------------------------------
// decoders
// -------------------------------------------------------------------------------------

/** A short, readable account of where decoding failed (io-ts reports are long type dumps). */
const describe = (errors: t.Errors): string =>
  errors
    .slice(0, 3)
    .map((error) => {
      const path = error.context.map((c) => c.key).filter((k) => k !== "" && !/^\d+$/.test(k)).join(".");
      const value = JSON.stringify(error.value);
      return `${path || "(root)"}: unexpected ${value === undefined ? "missing value" : value.slice(0, 60)}`;
    })
    .join("; ");

const decoder = <A>(codec: t.Decoder<unknown, unknown>, what: string) => (input: unknown): A => {
  const result = codec.decode(input);
  if (result._tag === "Left") throw new LockError("Decode", `the server sent ${what} tenure cannot read: ${describe(result.left)}`);
  return result.right as A;
};

/** A Lease object; throws a `Decode` LockError when it is not one. */
export const decodeLease: (input: unknown) => KubeObject & { readonly spec?: LeaseSpec | null } = decoder(lease, "a Lease");
/** Any object with metadata (Endpoints, ConfigMap); throws a `Decode` LockError otherwise. */
export const decodeObject: (input: unknown) => KubeObject = decoder(object, "an object");
export const decodeWatchEvent: (input: unknown) => WatchEvent = decoder(watchEvent, "a watch event");
/** A Status, or undefined for bodies that are not one (a proxy's HTML error page). */
export const asStatus = (input: unknown): Status | undefined => {
  const result = status.decode(input);
  return result._tag === "Right" ? (result.right as Status) : undefined;
};

// -------------------------------------------------------------------------------------
// conversions
// -------------------------------------------------------------------------------------

/** LeaseSpec -> record: absent fields become zero values, as client-go's LeaseSpecToLeaderElectionRecord. */
export const recordOfSpec = (spec: LeaseSpec | null | undefined): LeaderElectionRecord => ({
  holderIdentity: spec?.holderIdentity ?? emptyRecord.holderIdentity,
  leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
  acquireTime: spec?.acquireTime ?? null,
  renewTime: spec?.renewTime ?? null,
  leaseTransitions: spec?.leaseTransitions ?? 0,
  strategy: spec?.strategy ?? "",
  preferredHolder: spec?.preferredHolder ?? "",
});

/**
 * Record -> LeaseSpec as client-go writes it: holder, duration, times and transitions always;
 * strategy and preferredHolder only when set.
 */
export const specOfRecord = (record: LeaderElectionRecord): LeaseSpec => ({
  holderIdentity: record.holderIdentity,
  leaseDurationSeconds: record.leaseDurationSeconds,
  acquireTime: record.acquireTime,
  renewTime: record.renewTime,
  leaseTransitions: record.leaseTransitions,
  ...(record.strategy === "" ? {} : { strategy: record.strategy }),
  ...(record.preferredHolder === "" ? {} : { preferredHolder: record.preferredHolder }),
});
