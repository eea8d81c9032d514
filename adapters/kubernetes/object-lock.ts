/**
 * A Lock on one Kubernetes object, as client-go's resource locks: GET without resourceVersion (a
 * consistent read), POST to create, PUT of the last-seen object with the record written in (its
 * resourceVersion and uid make the write a compare-and-swap that also fails on a re-created
 * object), and a watch on the one object. How the record maps into the object is the codec's: a
 * Lease's spec (lease-lock.ts), or an annotation of an Endpoints or ConfigMap (annotation-lock.ts).
 * A Lease is read in protobuf while renews are patches (about half the bytes of JSON: issue #9's
 * slow link); a PUT never sends back an object read so (see `update`).
 *
 * @module
 */
import { type Lock, LockError, type Snapshot } from "../../src/lock.ts";
import type { LeaderElectionRecord } from "../../src/record.ts";
import type { Cluster } from "./cluster.ts";
import { type Action, describe } from "./errors.ts";
import type { RecordEvent } from "./events.ts";
import { modifiedVersion, PARTIAL } from "./protobuf.ts";
import { type Call, requestJson, requestLease } from "./request.ts";
import { watchObject } from "./watch.ts";
import type { KubeObject } from "./wire.ts";

/** How a record maps into one kind of object. */
export interface RecordCodec {
  /** For paths and messages: `leases`, `endpoints`, `configmaps`. */
  readonly resource: string;
  /** For messages and RBAC: `leases.coordination.k8s.io`. */
  readonly qualified: string;
  /** `/apis/coordination.k8s.io/v1` or `/api/v1`. */
  readonly api: string;
  /** The object's kind and apiVersion, for the Events recorded on it. */
  readonly kind: string;
  readonly apiVersion: string;
  /** The object with the record in it, as decoded from a response. */
  readonly read: (body: unknown, name: string) => Snapshot;
  /** A new object holding `record`. */
  readonly create: (meta: { readonly name: string; readonly namespace: string }, record: LeaderElectionRecord, labels: Readonly<Record<string, string>>) => object;
  /** The last-seen object with `record` written in. */
  readonly update: (last: KubeObject, record: LeaderElectionRecord, labels: Readonly<Record<string, string>>) => object;
  /**
   * The same change as a JSON merge patch that carries the last-seen resourceVersion, when the
   * codec has one: the API server answers 409 if the object changed since, so it is the same
   * compare-and-swap as the PUT, in a fraction of the bytes.
   */
  readonly patch?: (last: KubeObject, record: LeaderElectionRecord, labels: Readonly<Record<string, string>>) => object;
  /** Its answers may come in Kubernetes protobuf, which protobuf.ts reads (a Lease's). */
  readonly protobuf?: boolean;
}

export interface ObjectLockOptions {
  /** Default: the cluster's namespace (in-cluster: the pod's). */
  readonly namespace?: string;
  readonly name: string;
  /** Merged into the object's labels on every write; labels others wrote are kept. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Record `<identity> became leader` / `stopped leading` Events on the object, as client-go does
   * when given an EventRecorder: `leadershipEvents(cluster, { component })`. Needs `create` and
   * `patch` on `events` (API group ""). Default: none.
   */
  readonly events?: RecordEvent | undefined;
}

export const objectLock = (cluster: Cluster, options: ObjectLockOptions, codec: RecordCodec): Lock => {
  const namespace = namespaceOf(cluster, options.namespace, `${codec.resource} lock`);
  const { name } = options;
  const labels = options.labels ?? {};
  const record = options.events;
  const collection = `${codec.api}/namespaces/${encodeURIComponent(namespace)}/${codec.resource}`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  const action = (verb: string): Action => ({ verb, resource: codec.qualified, namespace, name });
  const observe = (body: unknown): Snapshot => codec.read(body, name);
  // Our last write as the server answered it: its watch event is the same object, so it is handed
  // back without parsing or decoding it again (the leader's watch echoes every renew).
  let written: { readonly version: string; readonly event: string; readonly snapshot: Snapshot } | undefined;
  // Renews are merge patches (small on the wire: they matter on slow links) until one is forbidden.
  let patching = true;
  // Then every write is a PUT of a whole object, which protobuf does not give: JSON again.
  const protobuf = (): boolean => codec.protobuf === true && patching;
  const request = (call: Call): Promise<unknown> => (protobuf() ? requestLease : requestJson)(cluster, call);
  /**
   * An object read from protobuf lacks ownerReferences, finalizers and more, which a PUT of it
   * would erase: the PUT sends the object as JSON has it, if it is still the one last seen; if it
   * changed since, the write lost its race, as the PUT would have.
   */
  const reread = async (last: KubeObject, signal: AbortSignal): Promise<KubeObject> => {
    const now = observe(await requestJson(cluster, { method: "GET", path, signal, action: action("get") })).version as KubeObject;
    const [was, is] = [last.metadata.resourceVersion, now.metadata.resourceVersion];
    if (is !== was) throw new LockError("Conflict", `${describe(action("update"))}: changed since it was read (resourceVersion ${was}, now ${is})`);
    return now;
  };
  const wrote = (snapshot: Snapshot): Snapshot => {
    const resourceVersion = (snapshot.version as KubeObject).metadata.resourceVersion;
    written = resourceVersion === undefined ? undefined : { version: resourceVersion, event: `"resourceVersion":${JSON.stringify(resourceVersion)}`, snapshot };
    return snapshot;
  };

  return {
    description: `${namespace}/${name}`,
    get: async (signal) => observe(await request({ method: "GET", path, signal, action: action("get") })),
    create: async (record, signal) => {
      const body = codec.create({ name, namespace }, record, labels);
      return wrote(observe(await request({ method: "POST", path: collection, body, signal, action: action("create") })));
    },
    update: async (record, version, signal) => {
      const last = lastSeen(version, codec.resource);
      if (codec.patch !== undefined && patching) {
        const body = codec.patch(last, record, labels);
        try {
          return wrote(observe(await request({ method: "PATCH", path, body, contentType: "application/merge-patch+json", signal, action: action("patch") })));
        } catch (error) {
          // client-go's Role grants update, not patch: then every write is a PUT, as client-go's.
          if (!(error instanceof LockError && error.reason === "Forbidden")) throw error;
          patching = false;
        }
      }
      const body = codec.update(slim(PARTIAL in last ? await reread(last, signal) : last), record, labels);
      return wrote(observe(await requestJson(cluster, { method: "PUT", path, body, signal, action: action("update") })));
    },
    watch: (version, signal) =>
      watchObject(cluster, {
        collection,
        name,
        action: action("watch"),
        observe,
        protobuf: protobuf(),
        // The API server writes `type` first. A resourceVersion names one state of the object. A
        // protobuf frame's is read alone: about 4x less CPU than decoding the Lease.
        known: (item) =>
          written !== undefined && (typeof item === "string" ? item.startsWith('{"type":"MODIFIED"') && item.includes(written.event) : modifiedVersion(item) === written.version)
            ? written.snapshot
            : undefined,
      }, version, signal),
    ...(record === undefined ? {} : {
      recordEvent: (message: string, version: unknown, signal: AbortSignal) =>
        record({ kind: codec.kind, apiVersion: codec.apiVersion }, lastSeen(version, codec.resource), message, signal),
    }),
  };
};

/** The object last seen, which an update writes over. */
export const lastSeen = (version: unknown, resource: string): KubeObject => {
  const object = version as KubeObject | undefined;
  if (object?.metadata?.resourceVersion === undefined) {
    throw new LockError("Invalid", `${resource} not initialized: get or create it before updating`);
  }
  return object;
};

/**
 * What a PUT sends back of the last-seen object: not its managedFields (most of a Lease's bytes),
 * uid or creationTimestamp, which the API server keeps when an update leaves them out.
 */
const slim = (object: KubeObject): KubeObject => {
  const { managedFields: _m, uid: _u, creationTimestamp: _c, ...metadata } = object.metadata;
  return { ...object, metadata: metadata as KubeObject["metadata"] };
};

export const withLabels = (object: KubeObject, labels: Readonly<Record<string, string>>): KubeObject["metadata"] =>
  Object.keys(labels).length === 0 ? object.metadata : { ...object.metadata, labels: { ...object.metadata.labels, ...labels } };

export const namespaceOf = (cluster: Cluster, namespace: string | undefined, what: string): string => {
  const chosen = namespace ?? cluster.namespace;
  if (chosen === undefined || chosen === "") {
    throw new TypeError(`${what}: no namespace given and the cluster has none; pass { namespace }`);
  }
  return chosen;
};
