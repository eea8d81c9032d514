/**
 * A label-selected set of Leases in a MemoryLeaseStore, listed and watched as one, as the API
 * server serves `GET leases?labelSelector=...` and its watch: the memory counterpart of the
 * Kubernetes `leaseCollection`, for `watchLeases` and `createShards` under a virtual clock.
 *
 * @module
 */
import type { LockError, LockVersion, Snapshot } from "../../src/lock.ts";
import { Feed } from "../../src/shards/feed.ts";
import type { CollectionEvent, LeaseCollection } from "../../src/shards/lease-set.ts";
import { memoryLock, type MemoryLock } from "./lock.ts";
import { type MemoryLeaseStore, type MemoryVersion, observedOf } from "./store.ts";

export interface MemoryCollectionOptions {
  readonly namespace: string;
  /** The set's labels: written on every lease its locks create or update, and what the list and watch select. */
  readonly labels: Readonly<Record<string, string>>;
  /** A name for this client in the store's operation log. */
  readonly client?: string;
}

export interface MemoryCollection extends LeaseCollection {
  /** The per-lease locks handed out so far (for injecting faults into one lease's writes). */
  readonly locks: ReadonlyMap<string, MemoryLock>;
  lock(name: string): MemoryLock;
}

export const memoryCollection = (store: MemoryLeaseStore, options: MemoryCollectionOptions): MemoryCollection => {
  const { namespace, labels } = options;
  const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
  const description = `${namespace}/${selector}`;
  const locks = new Map<string, MemoryLock>();
  return {
    description,
    locks,
    list: async () => {
      const listing = store.list(namespace, labels);
      store.log("list", description, options.client, "ok");
      return {
        leases: new Map(listing.leases.map((lease): [string, Snapshot] => [lease.name, observedOf(lease)])),
        version: { uid: "", resourceVersion: listing.resourceVersion } satisfies MemoryVersion,
      };
    },
    watch: async (version, signal) => {
      const feed = new Feed<CollectionEvent>();
      let unsubscribe: () => void;
      try {
        unsubscribe = store.subscribeSet(namespace, labels, (version as MemoryVersion).resourceVersion, {
          push: (event, name) =>
            feed.push(event._tag === "changed" ? { _tag: "changed", name, snapshot: event.snapshot } : event._tag === "deleted"
              ? { _tag: "deleted", name, version: event.version }
              : event),
          fail: (error: LockError) => feed.fail(error),
          end: () => feed.end(),
        });
      } catch (error) {
        store.log("watch", description, options.client, (error as LockError).reason);
        throw error;
      }
      store.log("watch", description, options.client, "ok");
      const stop = (): void => feed.end();
      feed.ended = () => (unsubscribe(), signal.removeEventListener("abort", stop));
      if (signal.aborted) feed.end();
      else signal.addEventListener("abort", stop, { once: true });
      return feed;
    },
    lock: (name) => {
      let lock = locks.get(name);
      if (lock === undefined) {
        lock = memoryLock(store, { namespace, name, labels: { ...labels }, ...(options.client === undefined ? {} : { client: options.client }), watch: false });
        locks.set(name, lock);
      }
      return lock;
    },
    revision: (version: LockVersion) => Number((version as MemoryVersion).resourceVersion),
  };
};
