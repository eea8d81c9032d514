/**
 * Leadership events as client-go's legacy EventRecorder writes them (`kubectl get events`,
 * `kubectl describe lease`): a core/v1 Event in the lock object's namespace, named
 * `<object>.<hex UnixNano>`, type Normal, reason LeaderElection, the involved object with its uid
 * and resourceVersion, count 1 and firstTimestamp = lastTimestamp; the same event again (same
 * source, object, reason and message) is a PATCH of that Event's count and lastTimestamp, as
 * client-go's correlator does. Needs `create` and `patch` on `events` in API group "".
 *
 * @module
 */
import { isLockError } from "../../src/lock.ts";
import { formatSeconds } from "../../src/record.ts";
import type { Cluster } from "./cluster.ts";
import { requestJson } from "./request.ts";
import type { KubeObject } from "./wire.ts";

/** Opt-in leadership events on a lock: who reports them. */
export interface EventOptions {
  /** `source.component` and `reportingComponent`, e.g. your controller's name (kube-controller-manager uses its own). */
  readonly component: string;
  /** `source.host` and `reportingInstance`, e.g. the node or pod name. Default: none. */
  readonly host?: string | undefined;
}

/** The type of the involved object. */
export interface Subject {
  readonly kind: string;
  readonly apiVersion: string;
}

/** Writes one leadership event about `object` (the lock object as last seen). */
export type RecordEvent = (subject: Subject, object: KubeObject, message: string, signal: AbortSignal) => Promise<void>;

/** How many distinct events are remembered for counting repeats. */
const REMEMBERED = 64;
const MAX_NAME = 253;

/** `<name>.<hex nanoseconds>`, client-go's GenerateEventName; a UUID when that is too long. */
const eventName = (objectName: string, wallMs: number): string => {
  // Sub-millisecond digits are not to be had portably: a random part keeps two names apart.
  const nanos = BigInt(Math.floor(wallMs)) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
  const name = `${objectName}.${nanos.toString(16)}`;
  return name.length <= MAX_NAME ? name : crypto.randomUUID();
};

/** Records leadership Events through `cluster` (give it to a lock's `events` option). */
export const leadershipEvents = (cluster: Cluster, options: EventOptions): RecordEvent => {
  if (typeof options.component !== "string" || options.component === "") {
    throw new TypeError("events: component must be a non-empty string (it is the event's source.component, e.g. your controller's name)");
  }
  const host = options.host ?? "";
  // Event key (client-go's getEventKey: no resourceVersion) -> the Event written for it.
  const written = new Map<string, { readonly namespace: string; readonly name: string; count: number }>();

  return async (subject, object, message, signal) => {
    const namespace = object.metadata.namespace || "default";
    const involvedObject = {
      kind: subject.kind,
      namespace: object.metadata.namespace,
      name: object.metadata.name,
      uid: object.metadata.uid,
      apiVersion: subject.apiVersion,
      resourceVersion: object.metadata.resourceVersion,
    };
    const key = JSON.stringify([options.component, host, subject.kind, namespace, object.metadata.name, object.metadata.uid, subject.apiVersion, message]);
    const now = formatSeconds(Date.now());
    const collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
    const action = (verb: string) => ({ verb, resource: "events", namespace });

    const seen = written.get(key);
    if (seen !== undefined) {
      try {
        await requestJson(cluster, {
          method: "PATCH",
          path: `${collection}/${encodeURIComponent(seen.name)}`,
          body: { count: seen.count + 1, lastTimestamp: now, message },
          contentType: "application/strategic-merge-patch+json",
          signal,
          action: { ...action("patch"), name: seen.name },
        });
        seen.count++;
        return;
      } catch (error) {
        // Expired (events live an hour) or deleted: write it afresh.
        if (!(isLockError(error) && error.reason === "NotFound")) throw error;
        written.delete(key);
      }
    }
    const name = eventName(object.metadata.name, Date.now());
    await requestJson(cluster, {
      method: "POST",
      path: collection,
      body: {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace },
        involvedObject,
        reason: "LeaderElection",
        message,
        source: host === "" ? { component: options.component } : { component: options.component, host },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type: "Normal",
        eventTime: null,
        reportingComponent: options.component,
        reportingInstance: host,
      },
      signal,
      action: action("create"),
    });
    written.set(key, { namespace, name, count: 1 });
    if (written.size > REMEMBERED) written.delete(written.keys().next().value as string);
  };
};
