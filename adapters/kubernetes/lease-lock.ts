/**
 * A Lock on a `coordination.k8s.io/v1` Lease, as client-go's LeaseLock: GET without
 * resourceVersion (a consistent read), POST to create, PUT of the last-seen object with the spec
 * replaced (its resourceVersion and uid make the write a compare-and-swap that also fails on a
 * re-created Lease), and a watch on the one Lease.
 *
 * @module
 */
import { type Lock, LockError, type Observed } from "../../src/lock.ts";
import type { LeaderElectionRecord } from "../../src/record.ts";
import type { Cluster } from "./cluster.ts";
import type { Action } from "./errors.ts";
import type { RecordEvent } from "./events.ts";
import { requestJson } from "./request.ts";
import { watchObject } from "./watch.ts";
import { decodeLease, type KubeObject, recordOfSpec, specOfRecord } from "./wire.ts";

export interface LeaseLockOptions {
  /** Default: the cluster's namespace (in-cluster: the pod's). */
  readonly namespace?: string;
  readonly name: string;
  /** Merged into the Lease's labels on every write; labels others wrote are kept. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Record `<identity> became leader` / `stopped leading` Events on the Lease, as client-go does
   * when given an EventRecorder: `leadershipEvents(cluster, { component })`. Needs `create` and
   * `patch` on `events` (API group ""). Default: none.
   */
  readonly events?: RecordEvent | undefined;
}

export const leaseLock = (cluster: Cluster, options: LeaseLockOptions): Lock => {
  const namespace = namespaceOf(cluster, options.namespace, "leaseLock");
  const { name } = options;
  const labels = options.labels ?? {};
  const record = options.events;
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  const action = (verb: string): Action => ({ verb, resource: "leases.coordination.k8s.io", namespace, name });
  const observe = (body: unknown): Observed => {
    const lease = decodeLease(body);
    return { record: recordOfSpec(lease.spec), version: lease };
  };

  return {
    description: `${namespace}/${name}`,
    get: async (signal) => observe(await requestJson(cluster, { method: "GET", path, signal, action: action("get") })),
    create: async (record: LeaderElectionRecord, signal) => {
      const body = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace, ...(Object.keys(labels).length > 0 ? { labels } : {}) },
        spec: specOfRecord(record),
      };
      return observe(await requestJson(cluster, { method: "POST", path: collection, body, signal, action: action("create") }));
    },
    update: async (record, version, signal) => {
      const last = lastSeen(version, "leases");
      const body = { ...last, metadata: withLabels(last, labels), spec: specOfRecord(record) };
      return observe(await requestJson(cluster, { method: "PUT", path, body, signal, action: action("update") }));
    },
    watch: (version, signal) => watchObject(cluster, { collection, name, action: action("watch"), observe }, version, signal),
    ...(record === undefined ? {} : {
      recordEvent: (message: string, version: unknown, signal: AbortSignal) =>
        record({ kind: "Lease", apiVersion: "coordination.k8s.io/v1" }, lastSeen(version, "leases"), message, signal),
    }),
  };
};

/** The object last seen, which an update writes back; client-go's "lease not initialized". */
export const lastSeen = (version: unknown, resource: string): KubeObject => {
  const object = version as KubeObject | undefined;
  if (object?.metadata?.resourceVersion === undefined) {
    throw new LockError("Invalid", `${resource} not initialized: get or create it before updating`);
  }
  return object;
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
