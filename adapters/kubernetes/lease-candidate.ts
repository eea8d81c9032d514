/**
 * The candidate of a coordinated elector: a `coordination.k8s.io/v1beta1` LeaseCandidate named
 * after its identity, in the Lease's namespace, kept as client-go's `NewCandidate` keeps it. It is
 * created with `renewTime` now, renewed at once whenever the coordinator pings it (`pingTime`
 * newer than `renewTime`: the coordinator counts only candidates that answer within 5 s) and
 * otherwise every 5 minutes (the coordinator forgets candidates silent for 30), re-created if
 * deleted, and deleted when the run ends (client-go leaves it to the coordinator's collector).
 * Pings arrive through a watch on the one object, not by polling.
 *
 * @module
 */
import { systemClock } from "../../src/clock.ts";
import { isLockError, type Lock, LockError, type Snapshot } from "../../src/lock.ts";
import { emptyRecord, formatMicroTime } from "../../src/record.ts";
import { keepWatching } from "../../src/watcher.ts";
import type { Cluster } from "./cluster.ts";
import type { Action } from "./errors.ts";
import { requestJson } from "./request.ts";
import { watchObject } from "./watch.ts";
import { decodeObject, type KubeObject } from "./wire.ts";

/** Where the candidate lives and what it stands for. */
export interface CandidateTarget {
  readonly namespace: string;
  /** The Lease it is a candidate for. */
  readonly leaseName: string;
}

/** What the coordinator compares candidates by. */
export interface Candidate {
  readonly binaryVersion: string;
  readonly emulationVersion: string;
  readonly strategy: string;
}

/** client-go's requeueInterval: a candidate renews this often when not pinged. */
export const RENEW_INTERVAL: number = 5 * 60_000;
const REQUEST_TIMEOUT = 10_000;
const MAX_BACKOFF = 60_000;
/** The withdrawal holds up the release and the end of `run`: short. */
const WITHDRAW_TIMEOUT = 5_000;

interface CandidateSpec {
  readonly leaseName?: string;
  readonly pingTime?: string | null;
  readonly renewTime?: string | null;
  readonly binaryVersion?: string;
  readonly emulationVersion?: string;
  readonly strategy?: string;
}
type LeaseCandidate = KubeObject & { readonly spec?: CandidateSpec | null };

/** Microseconds since the epoch of a MicroTime (or RFC3339) text; NaN when unreadable. */
const micros = (text: string | null | undefined): number => {
  if (typeof text !== "string") return NaN;
  const fraction = /\.(\d+)Z$/.exec(text)?.[1] ?? "";
  return Math.floor(Date.parse(text) / 1000) * 1e6 + Number(fraction.padEnd(6, "0").slice(0, 6));
};

/** The coordinator pinged after our last renew: it waits for an answer. */
export const pinged = (spec: CandidateSpec | null | undefined): boolean =>
  spec?.pingTime != null && !(micros(spec.pingTime) <= micros(spec.renewTime));

const decode = (body: unknown): LeaseCandidate => {
  const object = decodeObject(body) as LeaseCandidate;
  if (object.spec != null && typeof object.spec !== "object") throw new LockError("Decode", "the server sent a LeaseCandidate whose spec is not an object");
  return object;
};

/**
 * Keeps `candidate` registered until `signal` aborts, then deletes it; resolves once deleted (or
 * given up on). Failures go to `onError` and are retried with a backoff (1 s doubling to 60 s).
 */
export const keepLeaseCandidate = async (
  cluster: Cluster,
  target: CandidateTarget,
  candidate: Candidate,
  identity: string,
  signal: AbortSignal,
  onError: (error: LockError) => void,
): Promise<void> => {
  const { namespace, leaseName } = target;
  const name = identity;
  const collection = `/apis/coordination.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/leasecandidates`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  const action = (verb: string): Action => ({ verb, resource: "leasecandidates.coordination.k8s.io", namespace, name });
  const request = (method: "GET" | "POST" | "PUT" | "DELETE", verb: string, body?: unknown, limit: AbortSignal = signal) =>
    requestJson(cluster, {
      method,
      path: method === "POST" ? collection : path,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.any([limit, AbortSignal.timeout(REQUEST_TIMEOUT)]),
      action: action(verb),
    });

  /** Ours, renewed now; what others wrote elsewhere in the object is kept, pingTime included. */
  const spec = (previous?: CandidateSpec | null): CandidateSpec => ({
    ...previous,
    leaseName,
    binaryVersion: candidate.binaryVersion,
    emulationVersion: candidate.emulationVersion,
    strategy: candidate.strategy,
    renewTime: formatMicroTime(Date.now()),
  });

  let current: LeaseCandidate | undefined;
  const renewOnce = async (): Promise<void> => {
    if (current === undefined) {
      try {
        current = decode(await request("GET", "get"));
      } catch (error) {
        if (!(isLockError(error) && error.reason === "NotFound")) throw error;
        const body = { apiVersion: "coordination.k8s.io/v1beta1", kind: "LeaseCandidate", metadata: { name, namespace }, spec: spec() };
        try {
          current = decode(await request("POST", "create", body));
        } catch (error) {
          // Not even the collection: the server does not serve LeaseCandidates (a NotFound, which
          // the elector would take for part of the protocol and not report).
          if (!(isLockError(error) && error.reason === "NotFound")) throw error;
          throw new LockError("BadRequest", `${namespace}: the API server does not serve coordination.k8s.io/v1beta1 LeaseCandidates, so nobody coordinates: turn on CoordinatedLeaderElection (kube-apiserver --feature-gates=CoordinatedLeaderElection=true --runtime-config=coordination.k8s.io/v1beta1=true) or use leaseLock`, { cause: error, status: 404 });
        }
        return;
      }
    }
    if (current.spec?.leaseName !== undefined && current.spec.leaseName !== leaseName) {
      throw new LockError("Invalid", `LeaseCandidate ${namespace}/${name} stands for Lease ${current.spec.leaseName}, not ${leaseName}: one identity per Lease (leaseName cannot change), so choose another identity or delete that LeaseCandidate`);
    }
    try {
      current = decode(await request("PUT", "update", { ...current, spec: spec(current.spec) }));
    } catch (error) {
      // Changed or deleted since we saw it: read (or create) afresh, at once.
      if (isLockError(error) && (error.reason === "Conflict" || error.reason === "NotFound")) current = undefined;
      throw error;
    }
  };

  // One renewal at a time; a ping that arrives meanwhile asks for one more.
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let failures = 0;
  const schedule = (ms: number): void => {
    clearTimeout(timer);
    if (!signal.aborted) timer = setTimeout(renew, ms);
  };
  const renew = (): void => {
    if (running !== undefined) return void (again = true);
    running = (async () => {
      do {
        again = false;
        try {
          await renewOnce();
          failures = 0;
        } catch (error) {
          if (signal.aborted) return;
          const lockError = isLockError(error) ? error : new LockError("Unknown", String(error), { cause: error });
          // A lost race is no fault: read afresh and go again at once (once).
          if (lockError.reason === "Conflict" && failures === 0) {
            failures = 1;
            again = true;
            continue;
          }
          onError(lockError);
          failures++;
          return schedule(Math.min(1000 * 2 ** (failures - 1), MAX_BACKOFF));
        }
      } while (again && !signal.aborted);
      schedule(RENEW_INTERVAL);
    })().finally(() => (running = undefined));
  };

  const watchable: Required<Pick<Lock, "watch">> = {
    watch: (version, stream) =>
      watchObject(cluster, {
        collection,
        name,
        action: action("watch"),
        observe: (object): Snapshot => ({ record: emptyRecord, version: decode(object) }),
      }, version, stream),
  };
  const stopWatching = keepWatching(watchable, undefined, systemClock, 1000, {
    changed: (snapshot) => {
      if (signal.aborted) return;
      current = snapshot?.version as LeaseCandidate | undefined;
      // Deleted (by the coordinator's collector, or by hand): register again.
      if (current === undefined || pinged(current.spec)) renew();
    },
    health: () => {},
    failed: (error) => onError(isLockError(error) ? error : new LockError("Unknown", String(error), { cause: error })),
  });
  renew();

  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
  stopWatching();
  clearTimeout(timer);
  await running;
  // Withdraw: a write of ours that was cut off by the abort may still have landed, so delete by name.
  try {
    const uid = current?.metadata.uid;
    const body = { apiVersion: "v1", kind: "DeleteOptions", ...(uid === undefined ? {} : { preconditions: { uid } }) };
    await request("DELETE", "delete", body, AbortSignal.timeout(WITHDRAW_TIMEOUT));
  } catch (error) {
    // Gone already, or (uid precondition) a newer one of the same identity: not ours to delete.
    if (isLockError(error) && (error.reason === "NotFound" || error.reason === "Conflict")) return;
    onError(isLockError(error) ? error : new LockError("Unknown", String(error), { cause: error }));
  }
};
