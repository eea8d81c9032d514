/**
 * An in-process store of Leases with the API server's semantics: resourceVersion compare-and-swap,
 * NotFound, Conflict versus AlreadyExists, the Lease validation rules, no-op updates, and ordered
 * watches that can resume from a resourceVersion or expire (410).
 *
 * @module
 */
import { type Clock, systemClock } from "../../src/clock.ts";
import { type LockEvent, LockError } from "../../src/lock.ts";
import { emptyRecord, type LeaderElectionRecord, sameRecord } from "../../src/record.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** A stored Lease: the record plus the metadata the API server keeps. */
export interface StoredLease {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly record: LeaderElectionRecord;
}

/** What a memory lock hands back as its version: the object as last seen. */
export interface MemoryVersion {
  readonly uid: string;
  readonly resourceVersion: string;
}

/** One request as the store saw it, for tests that assert exact sequences of API operations. */
export interface LoggedOperation {
  readonly op: "get" | "create" | "update" | "watch" | "list";
  readonly key: string;
  /** Who asked (the lock's `client` option), if anyone said. */
  readonly client: string | undefined;
  /** `ok`, or the reason it failed. */
  readonly result: string;
}

export interface MemoryStoreOptions {
  /** Time source for watch delivery delays. Default: the system clock. */
  readonly clock?: Clock;
  /** How many past changes a watch can resume from before it gets 410 Expired. Default 1000. */
  readonly history?: number;
  /**
   * Keep the log of every request (`operations`), for tests' assertions. Default true; a
   * long-running process turns it off, since it grows with every request.
   */
  readonly log?: boolean;
}

interface Change {
  readonly key: string;
  readonly rv: number;
  readonly event: LockEvent;
  /** The Lease as changed (as it was, for a delete): what label-selected watches match on. */
  readonly lease: StoredLease;
}

/** Where a watch's events go. Called as methods, so that a sink may keep them on its prototype. */
export interface Sink {
  push(event: LockEvent, name: string): void;
  fail(error: LockError): void;
  end(): void;
}

interface Subscriber {
  /** One Lease's key (a lock's watch: no closure per watch), or what a label-selected watch matches. */
  readonly key: string | ((change: Change) => boolean);
  readonly sink: Sink;
}

const matches = (subscriber: Subscriber, change: Change): boolean =>
  typeof subscriber.key === "string" ? subscriber.key === change.key : subscriber.key(change);

// -------------------------------------------------------------------------------------
// store
// -------------------------------------------------------------------------------------

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;
const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;
const notFound = (name: string): LockError =>
  new LockError("NotFound", `leases.coordination.k8s.io "${name}" not found`, { status: 404 });

export class MemoryLeaseStore {
  readonly clock: Clock;
  readonly #history: number;
  readonly #leases = new Map<string, StoredLease>();
  /** The changes a watch can resume from: `#changes[#oldest]` on (the ones before are dropped in batches). */
  readonly #changes: Change[] = [];
  #oldest = 0;
  readonly #subscribers = new Set<Subscriber>();
  readonly #log: LoggedOperation[] = [];
  readonly #logging: boolean;
  #rv = 100;
  #uid = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.#history = options.history ?? 1000;
    this.#logging = options.log ?? true;
  }

  /** Every request served so far, in order. */
  get operations(): readonly LoggedOperation[] {
    return this.#log;
  }

  /** The Lease as stored, or undefined. */
  read(namespace: string, name: string): StoredLease | undefined {
    return this.#leases.get(keyOf(namespace, name));
  }

  /**
   * Writes as another client would, without compare-and-swap (an admin adding labels, a tool
   * blanking the holder). Emits a watch event like any change.
   */
  write(
    namespace: string,
    name: string,
    change: { readonly record?: Partial<LeaderElectionRecord>; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> },
  ): StoredLease {
    const key = keyOf(namespace, name);
    const current = this.#leases.get(key);
    const base = current ?? this.#fresh(namespace, name, emptyRecord, {});
    const record = { ...base.record, ...change.record };
    decode(record); // as the API server decodes every body: stored times are valid (see `decode`)
    return this.#commit(key, {
      ...base,
      record,
      labels: { ...base.labels, ...change.labels },
      annotations: { ...base.annotations, ...change.annotations },
    });
  }

  /** Deletes the Lease, as `kubectl delete lease` would. */
  delete(namespace: string, name: string): boolean {
    const key = keyOf(namespace, name);
    const current = this.#leases.get(key);
    if (current === undefined) return false;
    this.#leases.delete(key);
    const rv = ++this.#rv;
    this.#emit({ key, rv, lease: current, event: { _tag: "deleted", version: { uid: current.uid, resourceVersion: String(rv) } } });
    return true;
  }

  /** Ends every open watch, as an API server does when its watch timeout passes or it restarts. */
  closeWatches(error?: LockError): void {
    for (const { sink } of [...this.#subscribers]) (error ? sink.fail(error) : sink.end());
  }

  /** Forgets the watch history, so that resuming from any older resourceVersion gets 410 Expired. */
  compact(): void {
    this.#changes.length = 0;
    this.#oldest = 0;
  }

  // -------------------------------------------------------------------------------------
  // the API, as a memory lock calls it
  // -------------------------------------------------------------------------------------

  /** @internal */
  log(op: LoggedOperation["op"], key: string, client: string | undefined, result: string): void {
    if (this.#logging) this.#log.push({ op, key, client, result });
  }

  /** @internal */
  get(namespace: string, name: string): StoredLease {
    const lease = this.#leases.get(keyOf(namespace, name));
    if (lease === undefined) throw notFound(name);
    return lease;
  }

  /** @internal */
  create(namespace: string, name: string, record: LeaderElectionRecord, labels: Record<string, string>): StoredLease {
    const key = keyOf(namespace, name);
    decode(record);
    validate(name, record);
    if (this.#leases.has(key)) {
      throw new LockError("AlreadyExists", `leases.coordination.k8s.io "${name}" already exists`, { status: 409 });
    }
    return this.#commit(key, this.#fresh(namespace, name, record, labels));
  }

  /** @internal */
  update(namespace: string, name: string, record: LeaderElectionRecord, version: MemoryVersion | undefined, labels: Record<string, string>): StoredLease {
    const key = keyOf(namespace, name);
    const current = this.#leases.get(key);
    decode(record, current?.record);
    if (version === undefined || version.resourceVersion === "") {
      throw new LockError("Invalid", `Lease.coordination.k8s.io "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`, { status: 422 });
    }
    if (current === undefined || current.uid !== version.uid) {
      // The object we saw is gone (deleted, maybe re-created): the uid precondition fails.
      throw new LockError("Conflict", `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": Precondition failed: UID in precondition: ${version.uid}, UID in object meta: ${current?.uid ?? ""}`, { status: 409 });
    }
    if (current.resourceVersion !== version.resourceVersion) {
      throw new LockError("Conflict", `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`, { status: 409 });
    }
    // The API server validates an update only once its preconditions hold: a stale write of an
    // invalid spec is a 409, not a 422.
    validate(name, record);
    const merged = hasNone(labels) ? current.labels : { ...current.labels, ...labels };
    // An update that changes nothing is a no-op: same resourceVersion, no event.
    if (sameRecord(current.record, record) && (merged === current.labels || sameLabels(current.labels, merged))) return current;
    return this.#commit(key, { ...current, record, labels: merged });
  }

  /** @internal Subscribes to changes after `resourceVersion`, or from the current state when undefined. */
  subscribe(namespace: string, name: string, resourceVersion: string | undefined, sink: Sink): () => void {
    const key = keyOf(namespace, name);
    if (resourceVersion === undefined) {
      const current = this.#leases.get(key);
      if (current !== undefined) sink.push({ _tag: "changed", snapshot: observedOf(current) }, name);
    }
    return this.#subscribe({ key, sink }, resourceVersion ?? String(this.#rv));
  }

  /** @internal The Leases of a namespace whose labels include `selector`, and the resourceVersion of the listing. */
  list(namespace: string, selector: Readonly<Record<string, string>>): { readonly leases: readonly StoredLease[]; readonly resourceVersion: string } {
    const leases = [...this.#leases.values()].filter((lease) => lease.namespace === namespace && selects(selector, lease.labels));
    return { leases, resourceVersion: String(this.#rv) };
  }

  /** @internal A label-selected watch: changes after `resourceVersion` to the namespace's Leases that `selector` matches. */
  subscribeSet(namespace: string, selector: Readonly<Record<string, string>>, resourceVersion: string, sink: Sink): () => void {
    const key = (change: Change): boolean => change.lease.namespace === namespace && selects(selector, change.lease.labels);
    return this.#subscribe({ key, sink }, resourceVersion);
  }

  #subscribe(entry: Subscriber, resourceVersion: string): () => void {
    const from = Number(resourceVersion);
    const oldest = this.#changes[this.#oldest]?.rv ?? this.#rv + 1;
    if (!Number.isFinite(from) || from < oldest - 1) {
      throw new LockError("Expired", `too old resource version: ${resourceVersion} (${oldest - 1})`, { status: 410 });
    }
    for (let i = this.#oldest; i < this.#changes.length; i++) {
      const change = this.#changes[i] as Change;
      if (change.rv > from && matches(entry, change)) entry.sink.push(change.event, change.lease.name);
    }
    this.#subscribers.add(entry);
    return () => this.#subscribers.delete(entry);
  }

  #fresh(namespace: string, name: string, record: LeaderElectionRecord, labels: Record<string, string>): StoredLease {
    return { namespace, name, uid: `uid-${++this.#uid}`, resourceVersion: "", labels: hasNone(labels) ? NONE : { ...labels }, annotations: NONE, record };
  }

  #commit(key: string, lease: StoredLease): StoredLease {
    const rv = ++this.#rv;
    const { namespace, name, uid, labels, annotations, record } = lease;
    const stored: StoredLease = { namespace, name, uid, resourceVersion: String(rv), labels, annotations, record };
    this.#leases.set(key, stored);
    this.#emit({ key, rv, lease: stored, event: { _tag: "changed", snapshot: observedOf(stored) } });
    return stored;
  }

  #emit(change: Change): void {
    this.#changes.push(change);
    // Dropping one at a time (shift) would copy the whole history on every change.
    if (this.#changes.length - this.#oldest > this.#history) this.#oldest++;
    if (this.#oldest > this.#history) {
      this.#changes.splice(0, this.#oldest);
      this.#oldest = 0;
    }
    for (const subscriber of this.#subscribers) if (matches(subscriber, change)) subscriber.sink.push(change.event, change.lease.name);
  }
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

export const observedOf = (lease: StoredLease): { record: LeaderElectionRecord; version: MemoryVersion } => ({
  record: lease.record,
  version: { uid: lease.uid, resourceVersion: lease.resourceVersion },
});

/** The labels or annotations of a Lease that has none (most of them: shared, never written to). */
const NONE: Readonly<Record<string, string>> = Object.freeze({});

const hasNone = (labels: Readonly<Record<string, string>>): boolean => {
  for (const _ in labels) return false;
  return true;
};

const selects = (selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

const sameLabels = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/**
 * Decoding the request body, before anything else: a MicroTime needs exactly six digits. A time
 * equal to the stored one's passed this check when it was stored (a renew's acquireTime).
 */
const decode = (record: LeaderElectionRecord, stored?: LeaderElectionRecord): void => {
  if (record.acquireTime !== stored?.acquireTime) decodeTime("acquireTime", record.acquireTime);
  decodeTime("renewTime", record.renewTime);
};

const decodeTime = (field: string, value: string | null): void => {
  if (value !== null && !isMicroTime(value)) {
    throw new LockError("BadRequest", `Lease in version "v1" cannot be handled as a Lease: parsing time "${value}" as "2006-01-02T15:04:05.000000Z07:00": ${field} must have exactly six fractional digits`, { status: 400 });
  }
};

/** MICRO_TIME's test, without running the regex for the UTC form every renew writes (a tenth of a memory renew's cost). */
const isMicroTime = (value: string): boolean => {
  if (value.length !== 27 || value.charCodeAt(26) !== Z) return MICRO_TIME.test(value);
  for (let i = 0; i < 26; i++) {
    const c = value.charCodeAt(i);
    const separator = UTC_SEPARATORS[i];
    if (separator === undefined ? c < ZERO || c > NINE : c !== separator) return false;
  }
  return true;
};

const [ZERO, NINE, Z] = [48, 57, 90];
/** The separators of `2026-11-23T18:00:00.000000Z` by position; digits elsewhere. */
const UTC_SEPARATORS: readonly (number | undefined)[] = Array.from("dddd-dd-ddTdd:dd:dd.dddddd", (c) => (c === "d" ? undefined : c.charCodeAt(0)));

/** The API server's ValidateLeaseSpec. */
const validate = (name: string, record: LeaderElectionRecord): void => {
  if (record.leaseDurationSeconds > 0 && record.leaseTransitions >= 0 && (record.preferredHolder === "" || record.strategy !== "")) return;
  const causes: string[] = [];
  if (!(record.leaseDurationSeconds > 0)) causes.push(`spec.leaseDurationSeconds: Invalid value: ${record.leaseDurationSeconds}: must be greater than 0`);
  if (record.leaseTransitions < 0) causes.push(`spec.leaseTransitions: Invalid value: ${record.leaseTransitions}: must be greater than or equal to 0`);
  if (record.preferredHolder !== "" && record.strategy === "") causes.push("spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined");
  if (causes.length > 0) {
    throw new LockError("Invalid", `Lease.coordination.k8s.io "${name}" is invalid: ${causes.join(", ")}`, { status: 422 });
  }
};
