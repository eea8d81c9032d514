/**
 * `tenure status NAME [-n NAMESPACE] [--watch] [-o json]`: what the API server holds for a Lease,
 * in words a person can act on. Read-only: it needs only `get` (and `watch` for --watch).
 *
 * Ages and "expired" are judged on this machine's clock against the renewTime the holder wrote
 * with its own clock, as `kubectl` users do by eye: with skewed clocks they are estimates. The
 * electors themselves never compare clocks (they time the lease from their own sight of a change).
 *
 * @module
 */
import type { Cluster } from "../adapters/kubernetes/index.ts";
import { leaseLock } from "../adapters/kubernetes/index.ts";
import { isLockError, type LeaderElectionRecord, type Lock, type LockVersion, parseTime } from "../src/index.ts";
import type { Io } from "./io.ts";
import { CONNECTION_FLAGS, type Flags, formatDuration, namespaceOf, parse, UsageError } from "./options.ts";

export const STATUS_USAGE = `Usage: tenure status NAME [-n NAMESPACE] [--watch] [-o text|json]

Shows who holds the Lease NAME, since when, the age of the last renew, the lease duration, the
transitions, and whether it has expired (by this machine's clock against the holder's renewTime).
  -n, --namespace NS   default: $POD_NAMESPACE, else the pod's or the kubeconfig's namespace
  -w, --watch          print the lease again each time it changes, until interrupted
  -o, --output FORMAT  text (default) or json (one object per line with --watch)
      --kubeconfig FILE, --context NAME   as for 'tenure run --help'

Exit status: 0 when shown (also when nobody holds it), 1 when the Lease does not exist or cannot be
read, 2 for a bad flag or value.
`;

const STATUS_FLAGS: Flags = {
  ...CONNECTION_FLAGS,
  watch: { type: "boolean", short: "w" },
  output: { type: "string", short: "o" },
};

export interface LeaseStatus {
  readonly namespace: string;
  readonly name: string;
  /** `""` when nobody holds it. */
  readonly holder: string;
  readonly acquireTime: string | null;
  readonly renewTime: string | null;
  /** Seconds since renewTime, by this machine's clock. */
  readonly renewAgeSeconds: number | null;
  readonly leaseDurationSeconds: number;
  readonly leaseTransitions: number;
  /** No holder, or renewTime + leaseDuration is past by this machine's clock. */
  readonly expired: boolean;
  /** Coordinated leader election's fields, when set. */
  readonly strategy?: string;
  readonly preferredHolder?: string;
}

export const statusOf = (namespace: string, name: string, record: LeaderElectionRecord, now: number): LeaseStatus => {
  const renewed = parseTime(record.renewTime);
  const age = renewed === undefined ? null : Math.round(now - renewed) / 1000;
  return {
    namespace,
    name,
    holder: record.holderIdentity,
    acquireTime: record.acquireTime,
    renewTime: record.renewTime,
    renewAgeSeconds: age,
    leaseDurationSeconds: record.leaseDurationSeconds,
    leaseTransitions: record.leaseTransitions,
    expired: record.holderIdentity === "" || age === null || age > record.leaseDurationSeconds,
    ...(record.strategy ? { strategy: record.strategy } : {}),
    ...(record.preferredHolder ? { preferredHolder: record.preferredHolder } : {}),
  };
};

const ago = (ms: number): string => `${formatDuration(Math.max(0, Math.round(ms)))} ago`;

export const statusText = (s: LeaseStatus, now: number): string => {
  const since = (time: string | null): string => {
    const at = parseTime(time);
    return time === null || at === undefined ? "-" : `${time} (${ago(now - at)})`;
  };
  const lines = [
    `Lease:        ${s.namespace}/${s.name}`,
    `Holder:       ${s.holder === "" ? "<none>" : s.holder}`,
    `Acquired:     ${since(s.acquireTime)}`,
    `Renewed:      ${since(s.renewTime)}`,
    `Duration:     ${s.leaseDurationSeconds}s`,
    `Transitions:  ${s.leaseTransitions}`,
    `Expired:      ${s.holder === "" ? "yes (released: anyone may take it)" : s.expired ? "yes (by this machine's clock)" : "no"}`,
  ];
  if (s.strategy !== undefined) lines.push(`Strategy:     ${s.strategy}`);
  if (s.preferredHolder !== undefined) lines.push(`Preferred:    ${s.preferredHolder}`);
  return `${lines.join("\n")}\n`;
};

export const status = async (args: readonly string[], io: Io): Promise<number> => {
  const { values, positionals } = parse("status", args, STATUS_FLAGS);
  if (values["help"] === true) {
    io.out(STATUS_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "the Lease's NAME is required: tenure status NAME" : `one Lease at a time: got ${positionals.join(", ")}`);
  const name = positionals[0] as string;
  const output = (values["output"] as string | undefined) ?? "text";
  if (output !== "text" && output !== "json") throw new UsageError(`--output: "${output}" is not a format; use text or json`);
  const namespace = namespaceOf(values, io.env);
  let kube: Cluster;
  try {
    kube = await io.connect({ kubeconfig: values["kubeconfig"] as string | undefined, context: values["context"] as string | undefined });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const lock = leaseLock(kube, { ...(namespace === undefined ? {} : { namespace }), name });
  const ns = lock.description.split("/")[0] as string;
  const show = (record: LeaderElectionRecord): void => {
    const now = Date.now();
    const s = statusOf(ns, name, record, now);
    io.out(output === "json" ? `${JSON.stringify(s)}\n` : statusText(s, now));
  };
  const stop = new AbortController();
  const unlisten = io.onSignals(() => stop.abort());
  try {
    let version: LockVersion;
    try {
      const observed = await lock.get(AbortSignal.any([stop.signal, AbortSignal.timeout(10_000)]));
      show(observed.record);
      version = observed.version;
    } catch (error) {
      if (isLockError(error) && error.reason === "NotFound") {
        io.log(`lease ${lock.description} does not exist (nobody has campaigned on it yet, or the name or namespace is wrong)`);
      } else {
        io.log(`cannot read lease ${lock.description}: ${error instanceof Error ? error.message : String(error)}`);
      }
      return 1;
    }
    if (values["watch"] !== true) return 0;
    return await watch(lock, version, show, io, stop.signal);
  } finally {
    unlisten();
  }
};

/** Prints every change until the signal aborts; resumes after the server closes the stream. */
const watch = async (lock: Lock, from: LockVersion, show: (record: LeaderElectionRecord) => void, io: Io, signal: AbortSignal): Promise<number> => {
  if (lock.watch === undefined) {
    io.log("this lock cannot watch");
    return 1;
  }
  let version: LockVersion | undefined = from;
  while (!signal.aborted) {
    try {
      const events = await lock.watch(version, signal);
      for await (const event of events) {
        if (event._tag === "changed") {
          show(event.snapshot.record);
          version = event.snapshot.version;
        } else if (event._tag === "deleted") {
          io.log(`lease ${lock.description} was deleted`);
          version = undefined;
        } else {
          version = event.version;
        }
      }
    } catch (error) {
      if (signal.aborted) break;
      if (isLockError(error) && error.reason === "Expired") {
        // Too old to resume: start over from the object as it is now (the watch's first event).
        version = undefined;
        continue;
      }
      io.log(`watch failed, retrying in 1s: ${error instanceof Error ? error.message : String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  return 0;
};
