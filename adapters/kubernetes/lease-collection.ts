/**
 * A label-selected set of Leases for `watchLeases` (tenure/shards): one
 * `GET leases?labelSelector=...` and then one watch of the whole set from the list's
 * resourceVersion, with bookmarks; a 410 (an ERROR event with code 410, or HTTP 410) becomes an
 * `Expired` LockError, on which the set lists again. Each lease's writes go through a `leaseLock`
 * that puts the set's labels on the Lease, so a lease it creates belongs to the set.
 *
 * @module
 */
import { LockError, type LockVersion, type Snapshot } from "../../src/lock.ts";
import type { CollectionEvent, LeaseCollection } from "../../src/shards/lease-set.ts";
import type { Cluster } from "./cluster.ts";
import { type Action, describe, errorOfResponse } from "./errors.ts";
import { leaseLock, namespaceOf } from "./lease-lock.ts";
import { lines, parseJson, requestJson, send } from "./request.ts";
import { decodeLease, decodeWatchEvent, type KubeObject, recordOfSpec } from "./wire.ts";

export interface LeaseCollectionOptions {
  /** Default: the cluster's namespace (in-cluster: the pod's). */
  readonly namespace?: string;
  /** The set's labels: what the list and watch select, and what every lease's writes carry. At least one. */
  readonly labels: Readonly<Record<string, string>>;
}

/** How long the server keeps the watch open, varied so that replicas do not reconnect in step. */
const serverTimeout = (): number => 240 + Math.floor(Math.random() * 120);

export const leaseCollection = (cluster: Cluster, options: LeaseCollectionOptions): LeaseCollection => {
  const namespace = namespaceOf(cluster, options.namespace, "leaseCollection");
  const labels = options.labels;
  if (Object.keys(labels).length === 0) {
    throw new TypeError("leaseCollection: labels is empty; give the set a label (e.g. { \"app.kubernetes.io/name\": \"my-controller\" }) so that its list and watch select only its Leases");
  }
  const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const action = (verb: string): Action => ({ verb, resource: "leases.coordination.k8s.io", namespace });
  const observe = (object: unknown): Snapshot => {
    const lease = decodeLease(object);
    return { record: recordOfSpec(lease.spec), version: lease };
  };
  const resourceVersionOf = (version: LockVersion): string | undefined => (version as KubeObject | undefined)?.metadata?.resourceVersion;

  return {
    description: `${namespace}/${selector}`,
    list: async (signal) => {
      const query = new URLSearchParams({ labelSelector: selector });
      const call = { method: "GET", path: `${collection}?${query}`, signal, action: action("list") } as const;
      const body = await requestJson(cluster, call) as { metadata?: { resourceVersion?: unknown }; items?: unknown };
      const resourceVersion = body?.metadata?.resourceVersion;
      if (typeof resourceVersion !== "string" || !Array.isArray(body.items)) {
        throw new LockError("Decode", `${describe(call.action)}: the server's answer is not a LeaseList`);
      }
      const leases = new Map<string, Snapshot>();
      for (const item of body.items) {
        const observed = observe(item);
        leases.set((observed.version as KubeObject).metadata.name, observed);
      }
      return { leases, version: { metadata: { name: "", resourceVersion } } satisfies KubeObject };
    },
    watch: async (version, signal) => {
      const query = new URLSearchParams({
        watch: "true",
        labelSelector: selector,
        allowWatchBookmarks: "true",
        timeoutSeconds: String(serverTimeout()),
      });
      const resourceVersion = resourceVersionOf(version);
      if (resourceVersion !== undefined) query.set("resourceVersion", resourceVersion);
      const call = { method: "GET", path: `${collection}?${query}`, signal, action: action("watch") } as const;
      const response = await send(cluster, call);
      async function* events(): AsyncGenerator<CollectionEvent> {
        for await (const line of lines(response, cluster, call)) {
          const event = decodeWatchEvent(parseJson(line, call));
          switch (event.type) {
            case "ADDED":
            case "MODIFIED":
              yield { _tag: "changed", name: event.object.metadata.name, snapshot: observe(event.object) };
              break;
            case "DELETED":
              yield { _tag: "deleted", name: event.object.metadata.name, version: event.object };
              break;
            case "BOOKMARK":
              yield { _tag: "progress", version: event.object };
              break;
            case "ERROR":
              throw errorOfResponse(event.object.code ?? 500, event.object, new Headers(), call.action);
          }
        }
      }
      return events();
    },
    lock: (name) => leaseLock(cluster, { namespace, name, labels }),
    revision: (version) => {
      const revision = Number(resourceVersionOf(version));
      // etcd's revisions are decimal integers; anything else cannot be ordered, so it counts as newest.
      return Number.isFinite(revision) ? revision : Number.MAX_SAFE_INTEGER;
    },
  };
};
