/**
 * `tenure/shards`: many leases per process. One elector per Lease of a set, all fed by one shared
 * list + watch, with `owner(key)` and an optional per-replica cap. Adapters provide the set:
 * `leaseCollection` in `tenure/kubernetes`, `memoryCollection` in `tenure/memory`.
 *
 * @module
 */
export { bucketNames, bucketOf, fnv1a64, jump } from "./buckets.ts";
export {
  type CollectionEvent,
  type LeaseCollection,
  type LeaseSet,
  type LeaseSetOptions,
  type LeaseSetStats,
  type Listing,
  type Sighting,
  watchLeases,
} from "./lease-set.ts";
export { createShards, type Owner, type Shards, type ShardsOptions } from "./shards.ts";
