/**
 * Many Leases from one list + watch: a label-selected set of Leases is listed once and then
 * watched as one stream (resumed from its resourceVersion, bookmarks followed, re-listed after a
 * 410), and every lease of the set gets a Lock whose reads and watch are served from that shared
 * view. Writes still go to the server, one lease at a time, as compare-and-swaps.
 *
 * Serving a read from the shared view never breaks safety: every write is a compare-and-swap
 * against the version read, so a view that lags can only make a write fail (409), never succeed
 * over a change it did not see; and a lagging view only makes a follower wait longer, since
 * expiry runs from the moment a change is seen. After a lost race the next read of that lease
 * goes to the server, so a lagging view cannot make an elector lose the same race over and over.
 *
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import { type Lock, LockError, type LockEvent, type LockVersion, type Snapshot, reasonOf } from "../lock.ts";
import { sameRecord } from "../record.ts";
import { Feed } from "./feed.ts";
import { lanesOf } from "./lanes.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The port an adapter implements: a set of Leases (one namespace, one label selector). */
export interface LeaseCollection {
  /** `namespace/selector`, for messages. */
  readonly description: string;
  /** Every lease of the set as it is now, and the version to watch from. */
  list(signal: AbortSignal): Promise<Listing>;
  /**
   * The changes to any lease of the set after `version`; resolves once the stream is open, ends
   * when the signal aborts or the server closes it. Fails with `Expired` when `version` is too old.
   */
  watch(version: LockVersion, signal: AbortSignal): Promise<AsyncIterable<CollectionEvent>>;
  /** A Lock on one lease of the set, labelled so that it belongs to the set when it creates it. */
  lock(name: string): Lock;
  /** Where a version stands in the collection's order (etcd's revision for Kubernetes). */
  revision(version: LockVersion): number;
}

export interface Listing {
  readonly leases: ReadonlyMap<string, Snapshot>;
  readonly version: LockVersion;
}

export type CollectionEvent =
  | { readonly _tag: "changed"; readonly name: string; readonly snapshot: Snapshot }
  | { readonly _tag: "deleted"; readonly name: string; readonly version: LockVersion }
  /** No change, but a later point to resume from (a BOOKMARK). */
  | { readonly _tag: "progress"; readonly version: LockVersion };

/** A lease as the shared watch last saw it, and the local monotonic time its record last changed. */
export interface Sighting {
  readonly snapshot: Snapshot;
  readonly at: number;
}

export interface LeaseSetOptions {
  /** Default: the system clock. */
  readonly clock?: Clock | undefined;
  /**
   * A stream that delivers nothing (not even a bookmark) for this long is reopened from where it
   * left off: a watch that died silently (a stuck proxy) must not leave followers deaf. Default 5 000.
   */
  readonly quiet?: number | undefined;
  /** Timeout of a list and of opening a watch. Default 10 000. */
  readonly requestTimeout?: number | undefined;
  /**
   * Most requests for single leases in flight at once; the rest wait their turn (their timeout
   * running). Over HTTP/1.1 it also bounds the connections a pooling fetch opens: these plus one
   * for the watch; over HTTP/2 they all share one. Default 16.
   */
  readonly concurrency?: number | undefined;
  /** Longest a request waits for one of those places before it fails unsent (TooManyRequests). Default 1 000. */
  readonly queueWait?: number | undefined;
  /** Hears failed lists and watches (the set retries with backoff). */
  readonly onError?: ((error: LockError) => void) | undefined;
}

/** What the shared list + watch has done, for metrics and benchmarks. */
export interface LeaseSetStats {
  readonly lists: number;
  readonly watches: number;
  readonly events: number;
  /** Reads of single leases that had to go to the server. */
  readonly reads: number;
}

export interface LeaseSet {
  readonly description: string;
  /** Lists and watches until `signal` aborts; resolves once the first listing is in and the watch open. */
  start(signal: AbortSignal): Promise<void>;
  /** A Lock on one lease of the set: reads and watch from the shared view, writes to the server. */
  lock(name: string): Lock;
  /** The lease as the shared watch last saw it. */
  seen(name: string): Sighting | undefined;
  /** Whether the shared watch is open and caught up, so that reads may be served from it. */
  readonly live: boolean;
  stats(): LeaseSetStats;
}

interface Subscriber {
  /** The revision of the last event it was given. */
  after: number;
  readonly feed: Feed<LockEvent>;
}

/** Why a stream was dropped: it went quiet (not a failure). */
const QUIET = new LockError("Timeout", "the shared watch went quiet");
/** Longest pause between failed attempts to list or watch. */
const MAX_BACKOFF = 30_000;

// -------------------------------------------------------------------------------------
// constructor
// -------------------------------------------------------------------------------------

export const watchLeases = (collection: LeaseCollection, options: LeaseSetOptions = {}): LeaseSet => {
  const clock = options.clock ?? systemClock;
  const quiet = options.quiet ?? 5_000;
  const requestTimeout = options.requestTimeout ?? 10_000;
  const lanes = lanesOf(options.concurrency ?? 16, clock, options.queueWait ?? 1_000);
  const view = new Map<string, Sighting>();
  const subscribers = new Map<string, Set<Subscriber>>();
  const stats = { lists: 0, watches: 0, events: 0, reads: 0 };
  let live = false;
  let started = false;

  const revisionOf = (version: LockVersion): number => collection.revision(version);

  /** Tells the lease's subscribers about an event, each only once and in order. */
  const publish = (name: string, event: LockEvent, revision: number): void => {
    for (const subscriber of subscribers.get(name) ?? []) {
      if (revision <= subscriber.after) continue;
      subscriber.after = revision;
      subscriber.feed.push(event);
    }
  };

  const changed = (name: string, observed: Snapshot): void => {
    const last = view.get(name);
    const revision = revisionOf(observed.version);
    if (last !== undefined && revisionOf(last.snapshot.version) >= revision) return;
    // Expiry runs from the last change of the record, not of the object (labels do not keep a holder alive).
    const same = last !== undefined && sameRecord(last.snapshot.record, observed.record) && last.snapshot.change === observed.change;
    view.set(name, { snapshot: observed, at: same ? last.at : clock.now() });
    publish(name, { _tag: "changed", snapshot: observed }, revision);
  };

  const deleted = (name: string, version: LockVersion): void => {
    if (!view.delete(name)) return;
    publish(name, { _tag: "deleted", version }, revisionOf(version));
  };

  /** Ends every subscriber's stream: their electors poll (with reads from the server) until the watch is back. */
  const down = (error: LockError): void => {
    live = false;
    for (const all of subscribers.values()) for (const subscriber of all) subscriber.feed.fail(error);
    subscribers.clear();
  };

  const run = async (signal: AbortSignal, synced: () => void): Promise<void> => {
    let position: LockVersion | undefined;
    let failures = 0;
    let wake: (() => void) | undefined;
    const stopped = (): void => wake?.();
    signal.addEventListener("abort", stopped, { once: true });
    const pause = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        if (signal.aborted) return resolve();
        const cancel = clock.setTimer(clock.now() + ms, resolve);
        wake = () => (cancel(), resolve());
      });

    while (!signal.aborted) {
      // One controller per stream: the quiet timer and the open timeout drop it, stopping drops all.
      const stream = new AbortController();
      const abortStream = (): void => stream.abort(signal.reason);
      signal.addEventListener("abort", abortStream, { once: true });
      let timer = clock.setTimer(clock.now() + requestTimeout, () =>
        stream.abort(new LockError("Timeout", `${collection.description}: no answer within ${requestTimeout} ms`)));
      const listen = (): void => {
        timer();
        timer = clock.setTimer(clock.now() + quiet, () => stream.abort(QUIET));
      };
      const opened = clock.now();
      let delivered = 0;
      try {
        if (position === undefined) {
          stats.lists++;
          const listing = await collection.list(stream.signal);
          for (const name of [...view.keys()]) if (!listing.leases.has(name)) deleted(name, listing.version);
          for (const [name, observed] of listing.leases) changed(name, observed);
          position = listing.version;
        }
        stats.watches++;
        const events = await collection.watch(position, stream.signal);
        live = true;
        synced(); // reads are served from the view from now on
        listen();
        for await (const event of events) {
          if (stream.signal.aborted) break;
          listen();
          delivered++;
          failures = 0;
          stats.events++;
          if (event._tag === "changed") changed(event.name, event.snapshot);
          else if (event._tag === "deleted") deleted(event.name, event.version);
          position = event._tag === "changed" ? event.snapshot.version : event.version;
        }
        // The server closed it (its timeout) or it went quiet: reopen from where it left off, at
        // once, unless streams keep ending straight away (a proxy cutting them).
        if (stream.signal.reason === QUIET || delivered > 0 || clock.now() - opened >= 1000) continue;
        failures++;
      } catch (error) {
        if (signal.aborted) break;
        if (stream.signal.reason === QUIET) continue;
        const reason = reasonOf(error);
        if (reason === "Expired") {
          position = undefined; // the server forgot that point: list again
          continue;
        }
        const lockError = error instanceof LockError ? error : new LockError(reason, String(error), { cause: error });
        down(lockError);
        options.onError?.(lockError);
        failures++;
      } finally {
        timer();
        signal.removeEventListener("abort", abortStream);
        stream.abort();
      }
      await pause(Math.min(1000 * 2 ** (failures - 1), MAX_BACKOFF));
    }
    signal.removeEventListener("abort", stopped);
    down(new LockError("Timeout", `${collection.description}: the shared watch was stopped`));
  };

  return {
    description: collection.description,
    get live() {
      return live;
    },
    start: (signal) => {
      if (started) return Promise.reject(new Error("a lease set can be started only once"));
      started = true;
      return new Promise<void>((resolve, reject) => {
        void run(signal, resolve).then(() => reject(new LockError("Timeout", `${collection.description}: stopped before the first listing`)));
      });
    },
    seen: (name) => view.get(name),
    stats: () => ({ ...stats }),
    lock: (name) => {
      const lock = collection.lock(name);
      // The highest revision of this lease read or written through the server, and whether a
      // write lost a race since: then the shared view is known to be behind.
      let known = -1;
      let behind = false;
      const note = (observed: Snapshot): Snapshot => {
        known = Math.max(known, revisionOf(observed.version));
        return observed;
      };
      const write = async (send: () => Promise<Snapshot>): Promise<Snapshot> => {
        try {
          return note(await send());
        } catch (error) {
          if (["Conflict", "AlreadyExists"].includes(reasonOf(error))) behind = true;
          throw error;
        }
      };
      return {
        description: lock.description,
        get: async (signal) => {
          const sighting = view.get(name);
          const fresh = sighting === undefined ? known < 0 : revisionOf(sighting.snapshot.version) >= known;
          if (live && fresh && !behind) {
            if (sighting === undefined) throw new LockError("NotFound", `${lock.description} not found`, { status: 404 });
            return sighting.snapshot;
          }
          stats.reads++;
          behind = false;
          return note(await lanes(() => lock.get(signal), signal));
        },
        create: (record, signal) => write(() => lanes(() => lock.create(record, signal), signal)),
        update: (record, version, signal) => write(() => lanes(() => lock.update(record, version, signal), signal)),
        watch: async (version, signal) => {
          if (!live) throw new LockError("Unknown", `${collection.description}: the shared watch is not open`);
          const feed = new Feed<LockEvent>();
          const subscriber: Subscriber = { after: version === undefined ? -1 : revisionOf(version), feed };
          const sighting = view.get(name);
          if (sighting !== undefined && revisionOf(sighting.snapshot.version) > subscriber.after) {
            subscriber.after = revisionOf(sighting.snapshot.version);
            feed.push({ _tag: "changed", snapshot: sighting.snapshot });
          }
          let all = subscribers.get(name);
          if (all === undefined) subscribers.set(name, (all = new Set()));
          all.add(subscriber);
          const forget = (): void => {
            all.delete(subscriber);
            if (all.size === 0 && subscribers.get(name) === all) subscribers.delete(name);
            feed.end();
          };
          if (signal.aborted) forget();
          else signal.addEventListener("abort", forget, { once: true });
          feed.ended = () => signal.removeEventListener("abort", forget);
          return feed;
        },
      };
    },
  };
};
