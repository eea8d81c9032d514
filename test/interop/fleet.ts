/**
 * The interop harness: runs client-go's elector (the Go peers in test/interop/peer/) and tenure's
 * (tenure-peer.ts) as real processes on one lock, reads their JSON lines, stops them gracefully
 * (SIGTERM, with --release-on-cancel) or crashes them (SIGKILL), restarts victims under fresh
 * identities, and hands everything to the checker.
 *
 * Times: the harness and the client-go peers read CLOCK_MONOTONIC. tenure peers are started with
 * --clock-sync and print their times on it too, exactly (Node) or synced to it within an error
 * they measured against this harness (Deno, Bun), and say which in every line's `clock` (see
 * tenure-peer.ts, and `Clock` in checker.ts). The harness answers their clock probes, checks every
 * line's time against its own when it reads the line, and passes each event's clock and error on
 * to the checker, which refuses any that is not on CLOCK_MONOTONIC.
 *
 * Every child is killed when the fleet closes, when the test process exits for any reason, on
 * SIGINT/SIGTERM, and (through a small shell watchdog reading our pids on its stdin) even if the
 * test process is killed outright.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestCluster } from "../cluster/client.ts";
import { check, type CheckInput, type Clock, type Deadline, type Exit, type Kill, type KnownRace, type PeerEvent, type Timings, type Verdict } from "./checker.ts";

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** A client-go peer version (test/interop/peer/<version>). */
export type GoVersion = "v0.37" | "v0.23";
/** Which elector: tenure, or client-go at one of the peer versions. */
export type Impl = "tenure" | GoVersion;
export type Kind = "tenure" | "client-go";
export type LockType = "leases" | "endpoints" | "configmaps" | "endpointsleases" | "configmapsleases";

export const kindOf = (impl: Impl): Kind => (impl === "tenure" ? "tenure" : "client-go");

/** Whether followers of this impl and lock see changes at once (tenure's watch) or poll (client-go; tenure's MultiLock). */
export const followerStyle = (impl: Impl, lock: LockType): "watching" | "polling" =>
  impl === "tenure" && (lock === "leases" || lock === "endpoints" || lock === "configmaps") ? "watching" : "polling";

/** Monotonic milliseconds (CLOCK_MONOTONIC, as the peers print it), to the microsecond. */
export const monoMs = (): number => Number(process.hrtime.bigint() / 1000n) / 1000;

export interface PeerLine {
  readonly event: string;
  readonly mono: number;
  readonly leader?: string | undefined;
  readonly clock: Clock;
  readonly raw: string;
}

export interface Peer {
  readonly identity: string;
  readonly impl: Impl;
  readonly kind: Kind;
  readonly lock: LockType;
  readonly lines: readonly PeerLine[];
  /** Every stderr line (client-go's klog output, tenure's warnings and errors). */
  readonly stderr: readonly string[];
  /** Its `ready` line, parsed (runtime, lock, and for tenure its clock), once printed. */
  readonly ready: Readonly<Record<string, unknown>> | undefined;
  readonly alive: boolean;
  /** Leading now, by its own lines: a `started` not yet followed by `stopped`, and not dead. */
  readonly leading: boolean;
  /** The last leader it reported (new_leader), if any. */
  readonly leaderSeen: string | undefined;
  /** Monotonic ms of the last line with this event. */
  last(event: string): number | undefined;
  /**
   * When its last term ended as the checker counts it: work_stopped (tenure-peer, before its
   * release) or else stopped (client-go, after its release); undefined while leading.
   */
  readonly ended: number | undefined;
  /** Resolves once the process has exited and its output is read. */
  readonly closed: Promise<Exit>;
}

export interface FleetOptions {
  readonly kube: TestCluster;
  readonly namespace: string;
  /** A ServiceAccount token, in a file (the peers re-read it). */
  readonly tokenFile: string;
  /** The lock object's name. */
  readonly name: string;
  readonly timings: Timings;
  /** Paths of the built Go peers (see `goPeers`); only the versions this fleet starts. */
  readonly goPeers: Readonly<Partial<Record<GoVersion, string>>>;
  /**
   * How to run tenure-peer: the runtime and its arguments up to the script; the peer's flags follow.
   * Default `node .build/test/interop/tenure-peer.js`. Deno and Bun plug in here.
   */
  readonly tenureCommand?: readonly string[];
  /**
   * Default true: tenure peers get --clock-sync and print times on our CLOCK_MONOTONIC. false only
   * to see that a clock which is not gets refused (clock.test.ts).
   */
  readonly clockSync?: boolean;
}

export interface SpawnOptions {
  readonly impl: Impl;
  readonly identity: string;
  /** Default leases. */
  readonly lock?: LockType;
  /** Default true: a SIGTERM releases the lock. */
  readonly releaseOnCancel?: boolean;
  /** Campaign again after losing leadership without a signal, instead of exiting 1. Default false. */
  readonly rejoin?: boolean;
  /** More flags, which both peers take (e.g. `--coordinated`, `--emulation-version=1.2.0`, `--event-component=c`). */
  readonly flags?: readonly string[];
}

// -------------------------------------------------------------------------------------
// where things are
// -------------------------------------------------------------------------------------

/** The clone's root: the first ancestor with test/interop/build-peers.sh (works from .build/ and from sources). */
export const repoRoot = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "test", "interop", "build-peers.sh")) && existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the repository root (test/interop/build-peers.sh) above this file");
    dir = up;
  }
};

/** `node .build/test/interop/tenure-peer.js`, the default tenure peer command. */
export const nodeTenureCommand = (): readonly string[] => [process.execPath, join(repoRoot(), ".build", "test", "interop", "tenure-peer.js")];

const built = new Map<GoVersion, Promise<string>>();

/** One run of build-peers.sh for `versions`: version → binary. */
const buildPeers = (versions: readonly GoVersion[]): Promise<Record<string, string>> =>
  new Promise((resolve, reject) => {
    const child = spawn("bash", [join(repoRoot(), "test", "interop", "build-peers.sh"), ...versions], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => void (out += chunk));
    child.once("error", reject);
    child.once("close", (code) => {
      const paths = Object.fromEntries(out.split("\n").filter((l) => l.includes("=")).map((l) => l.split("=", 2) as [string, string]));
      if (code !== 0 || versions.some((v) => paths[v] === undefined)) reject(new Error(`build-peers.sh failed (exit ${code}); stdout: ${out}`));
      else resolve(paths);
    });
  });

/**
 * Builds the Go peers of `versions` (default: both) once per process through build-peers.sh
 * (cached across runs by content hash; a first build takes about a minute per version and prints
 * progress on stderr).
 */
export const goPeers = async (versions: readonly GoVersion[] = ["v0.37", "v0.23"]): Promise<Readonly<Partial<Record<GoVersion, string>>>> => {
  const missing = versions.filter((v) => !built.has(v));
  if (missing.length > 0) {
    const build = buildPeers(missing);
    for (const v of missing) built.set(v, build.then((paths) => paths[v] as string));
  }
  return Object.fromEntries(await Promise.all(versions.map(async (v) => [v, await (built.get(v) as Promise<string>)] as const)));
};

/**
 * The most a tenure peer's synced clock may be off (its clock_error_ns, in ms). Its probes go over
 * pipes, which on an idle machine pins the offset to within about 0.1 ms; an error beyond this means
 * the probes were starved, and the checker would need that much slack at every handover, so the
 * run is refused instead of judged loosely.
 */
export const MAX_CLOCK_ERROR_MS = 2;

// -------------------------------------------------------------------------------------
// children die with us
// -------------------------------------------------------------------------------------

const children = new Set<ChildProcess>();
let watchdog: ChildProcess | undefined;
let hooked = false;

const killAll = (): void => {
  for (const child of children) child.kill("SIGKILL");
};

/** Hooks exit and signals once, and starts the watchdog that outlives a SIGKILL of this process. */
const guard = (): void => {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    killAll();
    watchdog?.kill("SIGKILL");
  });
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(code);
    });
  }
  // Reads "pid" to watch and "-pid" to forget; when our end of the pipe closes (we died), kills the rest.
  const script =
    'trap "" INT HUP TERM; pids=" "; ' +
    'while read -r l; do case "$l" in -*) pids=$(printf %s "$pids" | sed "s/ ${l#-} / /");; *) pids="$pids$l ";; esac; done; ' +
    'for p in $pids; do kill -KILL "$p" 2>/dev/null; done';
  watchdog = spawn("sh", ["-c", script], { stdio: ["pipe", "ignore", "ignore"] });
  watchdog.on("error", () => {});
  watchdog.stdin?.on("error", () => {});
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void } | null)?.unref();
};

const tellWatchdog = (line: string): void => void watchdog?.stdin?.write(`${line}\n`);

// -------------------------------------------------------------------------------------
// the fleet
// -------------------------------------------------------------------------------------

const goDuration = (ms: number): string => `${ms}ms`;

export class Fleet {
  readonly options: FleetOptions;
  readonly peers: Peer[] = [];
  readonly events: PeerEvent[] = [];
  readonly kills: Kill[] = [];
  readonly exits: Exit[] = [];
  readonly deadlines: Deadline[] = [];
  /** Overlaps to measure rather than fail (see `KnownRace`). */
  readonly races: KnownRace[] = [];
  /** Peers whose mono_ns is not on our clock (checked on every line as it arrives; one message per peer). */
  readonly clockErrors: string[] = [];
  readonly #children = new Map<string, ChildProcess>();

  constructor(options: FleetOptions) {
    this.options = options;
    guard();
  }

  /** Starts one peer; its lines are collected from now on. */
  spawn(options: SpawnOptions): Peer {
    const { impl, identity } = options;
    if (this.#children.has(identity)) throw new Error(`a peer named ${identity} was already started: identities must be unique per process`);
    const lock = options.lock ?? "leases";
    const { kube, namespace, tokenFile, name, timings } = this.options;
    const flags = [
      `--server=${kube.server}`,
      `--ca-file=${kube.caFile}`,
      `--token-file=${tokenFile}`,
      `--namespace=${namespace}`,
      `--name=${name}`,
      `--identity=${identity}`,
      `--lease-duration=${goDuration(timings.leaseDuration)}`,
      `--renew-deadline=${goDuration(timings.renewDeadline)}`,
      `--retry-period=${goDuration(timings.retryPeriod)}`,
      `--lock=${lock}`,
      ...(options.releaseOnCancel === false ? [] : ["--release-on-cancel"]),
      ...(options.rejoin === true ? ["--rejoin"] : []),
      ...(options.flags ?? []),
      // A tenure peer probes our clock through its stdin (see tenure-peer.ts).
      ...(impl === "tenure" && this.options.clockSync !== false ? ["--clock-sync"] : []),
    ];
    const goPeer = impl === "tenure" ? undefined : this.options.goPeers[impl];
    if (impl !== "tenure" && goPeer === undefined) throw new Error(`no client-go ${impl} peer was built for this fleet (goPeers)`);
    const [file, ...prefix] = impl === "tenure" ? (this.options.tenureCommand ?? nodeTenureCommand()) : [goPeer as string];
    const child = spawn(file as string, [...prefix, ...flags], { stdio: [impl === "tenure" ? "pipe" : "ignore", "pipe", "pipe"] });
    child.stdin?.on("error", () => {}); // EPIPE after it exited: nothing left to answer
    children.add(child);
    this.#children.set(identity, child);
    if (child.pid !== undefined) tellWatchdog(String(child.pid));

    const lines: PeerLine[] = [];
    const stderr: string[] = [];
    let alive = true;
    let ready: Record<string, unknown> | undefined;
    /** ms: a synced clock's error, from the tenure peer's ready line. */
    let uncertainty = 0;
    const clockError = (message: string): void => {
      if (!this.clockErrors.some((e) => e.startsWith(`${identity} `))) this.clockErrors.push(`${identity} ${message}`);
    };
    const record = (line: string): void => {
      const now = process.hrtime.bigint();
      let parsed: { event?: unknown; leader?: unknown; clock?: unknown; seq?: unknown; why?: unknown; holder?: unknown };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        stderr.push(`(stdout, not JSON) ${line}`);
        return;
      }
      if (parsed.event === "clock_probe" && typeof parsed.seq === "number") {
        // Our CLOCK_MONOTONIC after the peer wrote the probe and before it reads this answer.
        child.stdin?.write(`${parsed.seq} ${now}\n`);
        return;
      }
      const ns = /"mono_ns":(\d+)/.exec(line)?.[1];
      if (typeof parsed.event !== "string" || ns === undefined) {
        stderr.push(`(stdout, not an event) ${line}`);
        return;
      }
      const leader = typeof parsed.leader === "string" ? parsed.leader : undefined;
      // A client-go peer reads CLOCK_MONOTONIC and says nothing; a tenure peer names its clock.
      const clock: Clock = typeof parsed.clock === "string" ? parsed.clock : impl === "tenure" ? "undeclared" : "monotonic";
      if (parsed.event === "ready") {
        ready = parsed as Record<string, unknown>;
        if (clock === "synced") {
          const error = /"clock_error_ns":(\d+)/.exec(line)?.[1];
          uncertainty = error === undefined ? Number.POSITIVE_INFINITY : Number(error) / 1e6;
          if (!(uncertainty <= MAX_CLOCK_ERROR_MS)) {
            clockError(`synced its clock to within ${error === undefined ? "an unknown error" : `${uncertainty.toFixed(3)} ms`} only (at most ${MAX_CLOCK_ERROR_MS} ms is accepted)`);
          }
        }
      }
      const mono = Number(BigInt(ns) / 1000n) / 1000;
      // A line is read after it was written, so its time is before ours (or after by a synced
      // clock's error at most). Not so means its times are on another clock, whatever it says, and
      // every comparison with them would be meaningless. (The checker refuses undeclared and
      // foreign clocks by name.)
      const lag = Number(now / 1000n) / 1000 - mono;
      if (lag < -(0.5 + uncertainty) || lag > 5_000) {
        const when = lag >= 0 ? `${lag.toFixed(3)} ms before` : `${(-lag).toFixed(3)} ms after`;
        clockError(`printed mono_ns ${ns} (clock "${clock}"), ${when} this process's CLOCK_MONOTONIC when it read the line: not the same clock`);
      }
      lines.push({ event: parsed.event, mono, leader, clock, raw: line });
      this.events.push({
        process: identity,
        event: parsed.event,
        mono,
        leader,
        clock,
        ...(uncertainty === 0 ? {} : { uncertainty }),
        ...(typeof parsed.why === "string" ? { why: parsed.why } : {}),
        ...(typeof parsed.holder === "string" ? { holder: parsed.holder } : {}),
      });
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", record);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => void stderr.push(line));
    child.once("exit", (code, signal) => {
      alive = false;
      this.exits.push({ process: identity, mono: monoMs(), code, signal });
      children.delete(child);
      if (child.pid !== undefined) tellWatchdog(`-${child.pid}`);
    });
    const closed = new Promise<Exit>((resolve) => {
      child.once("error", (error) => {
        stderr.push(`could not start ${file}: ${error.message}`);
        alive = false;
        children.delete(child);
        resolve({ process: identity, mono: monoMs(), code: 127, signal: null });
      });
      child.once("close", (code, signal) => resolve({ process: identity, mono: monoMs(), code, signal }));
    });

    const last = (event: string): number | undefined => {
      for (let i = lines.length - 1; i >= 0; i--) if (lines[i]?.event === event) return lines[i]?.mono;
      return undefined;
    };
    const peer: Peer = {
      identity,
      impl,
      kind: kindOf(impl),
      lock,
      lines,
      stderr,
      closed,
      get ready() {
        return ready;
      },
      last,
      get alive() {
        return alive;
      },
      get leading() {
        return alive && last("started") !== undefined && this.ended === undefined;
      },
      get ended() {
        const started = last("started");
        if (started === undefined) return undefined;
        const ends = [last("work_stopped"), last("stopped")].filter((t): t is number => t !== undefined && t >= started);
        return ends.length === 0 ? undefined : Math.min(...ends);
      },
      get leaderSeen() {
        for (let i = lines.length - 1; i >= 0; i--) if (lines[i]?.event === "new_leader") return lines[i]?.leader;
        return undefined;
      },
    };
    this.peers.push(peer);
    return peer;
  }

  /** Sends a signal (SIGKILL: a crash; SIGTERM: a graceful stop) and returns when it was sent. */
  signal(peer: Peer, signal: "SIGKILL" | "SIGTERM"): number {
    const child = this.#children.get(peer.identity);
    if (child === undefined || !peer.alive) throw new Error(`${peer.identity} is not running`);
    const mono = monoMs();
    this.kills.push({ process: peer.identity, mono, signal });
    child.kill(signal);
    return mono;
  }

  /** Stops a peer and waits until it has exited. */
  async stop(peer: Peer, signal: "SIGKILL" | "SIGTERM" = "SIGTERM"): Promise<number> {
    const mono = this.signal(peer, signal);
    await this.within(peer.closed, 10_000, `${peer.identity} to exit after ${signal}`);
    return mono;
  }

  running(): Peer[] {
    return this.peers.filter((p) => p.alive);
  }

  leaders(): Peer[] {
    return this.peers.filter((p) => p.leading);
  }

  /** Polls `condition` every 10 ms; throws with the fleet's state when it does not hold within `limit`. */
  async until(condition: () => boolean, limit: number, what: string): Promise<void> {
    const end = performance.now() + limit;
    while (!condition()) {
      if (performance.now() > end) throw new Error(`waited ${limit} ms for ${what}\n${this.describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async within<T>(promise: Promise<T>, limit: number, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`waited ${limit} ms for ${what}\n${this.describe()}`)), limit);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until exactly one peer leads and returns it. */
  async leader(limit: number, what = "a leader"): Promise<Peer> {
    await this.until(() => this.leaders().length === 1, limit, what);
    return this.leaders()[0] as Peer;
  }

  /** Waits until `peer` has reported `leader` (its first look at the lock, or a change). */
  sees(peer: Peer, leader: string, limit = 10_000): Promise<void> {
    return this.until(() => peer.leaderSeen === leader, limit, `${peer.identity} to see ${leader} as leader`);
  }

  /** Each peer, its state and the tail of its stderr: for failure messages. */
  describe(): string {
    return this.peers
      .map((p) => {
        const tail = p.stderr.slice(-3).map((l) => `      ${l.slice(0, 300)}`).join("\n");
        return `  ${p.identity} (${p.impl}, ${p.lock}): ${p.alive ? "running" : "exited"}, ${p.leading ? "LEADING" : "not leading"}, sees ${p.leaderSeen ?? "-"}\n${tail}`;
      })
      .join("\n");
  }

  /** The checker's verdict on everything so far (plus the given deadlines). */
  verdict(extra: Partial<Pick<CheckInput, "until">> = {}): Verdict {
    const verdict = check({ events: this.events, kills: this.kills, exits: this.exits, deadlines: this.deadlines, races: this.races, until: extra.until ?? monoMs() });
    if (this.clockErrors.length === 0) return verdict;
    const violations = [...this.clockErrors.map((message) => ({ kind: "clock" as const, message })), ...verdict.violations];
    return { ...verdict, ok: false, violations, report: violations.map((v) => `  [${v.kind}] ${v.message}`).join("\n") };
  }

  /**
   * Writes each peer's stdout lines and stderr to `<identity>.out` / `.err` in a new directory
   * under the temp dir, and the harness's kills and exits to `harness.json`; returns its path.
   */
  async keepLogs(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `tenure-interop-${this.options.namespace}-`));
    await Promise.all([
      ...this.peers.flatMap((p) => [
        writeFile(join(dir, `${p.identity}.out`), p.lines.map((l) => `${l.raw}\n`).join("")),
        writeFile(join(dir, `${p.identity}.err`), p.stderr.map((l) => `${l}\n`).join("")),
      ]),
      writeFile(join(dir, "harness.json"), JSON.stringify({ kills: this.kills, exits: this.exits, deadlines: this.deadlines }, null, 1)),
    ]);
    return dir;
  }

  /**
   * Runs `body`; whatever happens, every peer is killed. A failure, of `body` or of the checker,
   * throws with the checker's report and where the peers' logs were kept.
   */
  async judge(body: () => Promise<void>): Promise<Verdict> {
    let failure: unknown;
    try {
      await body();
    } catch (error) {
      failure = error;
    }
    await this.close();
    const verdict = this.verdict();
    if (failure === undefined && verdict.ok) return verdict;
    const what = failure === undefined ? "the checker failed" : failure instanceof Error ? failure.message : String(failure);
    throw new Error(`${what}\nchecker:\n${verdict.report || "  no violations"}\npeer logs kept in ${await this.keepLogs()}`, { cause: failure });
  }

  /** Kills every peer still running and waits for them. Safe to call twice. */
  async close(): Promise<void> {
    const running = this.running();
    for (const peer of running) this.signal(peer, "SIGKILL");
    await Promise.all(running.map((p) => p.closed));
  }
}

/**
 * A replica slot: one process at a time, restarted under a fresh identity (`label-1`, `label-2`,
 * ...), because a process that reuses the identity of the holder takes the lock back at once.
 */
export class Slot {
  readonly label: string;
  readonly impl: Impl;
  readonly lock: LockType;
  readonly #fleet: Fleet;
  #generation = 0;
  peer: Peer | undefined;

  constructor(fleet: Fleet, label: string, impl: Impl, lock: LockType = "leases") {
    this.#fleet = fleet;
    this.label = label;
    this.impl = impl;
    this.lock = lock;
  }

  get running(): boolean {
    return this.peer?.alive === true;
  }

  start(): Peer {
    if (this.running) return this.peer as Peer;
    this.#generation += 1;
    this.peer = this.#fleet.spawn({ impl: this.impl, lock: this.lock, identity: `${this.label}-${this.#generation}` });
    return this.peer;
  }
}

// -------------------------------------------------------------------------------------
// reading the lock as the admin
// -------------------------------------------------------------------------------------

export interface SeenRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number | undefined;
  readonly acquireTime: string | null;
  readonly renewTime: string | null;
  readonly transitions: number;
}

const LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader";

/** The Lease's spec, or the annotation record of an Endpoints/ConfigMap, as stored. */
export const readRecord = async (kube: TestCluster, kind: "leases" | "endpoints" | "configmaps", namespace: string, name: string): Promise<SeenRecord | undefined> => {
  const path = kind === "leases"
    ? `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`
    : `/api/v1/namespaces/${namespace}/${kind}/${name}`;
  const { status, json, text } = await kube.request("GET", path);
  if (status === 404) return undefined;
  if (status !== 200) throw new Error(`GET ${path}: HTTP ${status}: ${text}`);
  if (kind === "leases") {
    const spec = json.spec ?? {};
    return {
      holderIdentity: spec.holderIdentity ?? "",
      leaseDurationSeconds: spec.leaseDurationSeconds,
      acquireTime: spec.acquireTime ?? null,
      renewTime: spec.renewTime ?? null,
      transitions: spec.leaseTransitions ?? 0,
    };
  }
  const annotation = json.metadata?.annotations?.[LEADER_ANNOTATION];
  if (annotation === undefined) return undefined;
  const record = JSON.parse(annotation);
  return {
    holderIdentity: record.holderIdentity ?? "",
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: record.acquireTime ?? null,
    renewTime: record.renewTime ?? null,
    transitions: record.leaderTransitions ?? 0,
  };
};

/** A Lease's MicroTime as the API server requires it. */
export const MICRO_TIME: RegExp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
/** A legacy annotation record's time: RFC3339, whole seconds. */
export const SECOND_TIME: RegExp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

// -------------------------------------------------------------------------------------
// a table of measured times
// -------------------------------------------------------------------------------------

export interface Measure {
  readonly row: string;
  readonly ms: number;
}

/** `row | n | min | median | max`, in ms; rows in the given order, then in first-seen order. */
export const table = (title: string, measures: readonly Measure[], order: readonly string[] = []): string => {
  const rows = [...new Set([...order, ...measures.map((m) => m.row)])].filter((row) => measures.some((m) => m.row === row));
  const width = Math.max(title.length, ...rows.map((r) => r.length));
  const head = `${title.padEnd(width)} |  n |    min | median |    max`;
  const lines = rows.map((row) => {
    const values = measures.filter((m) => m.row === row).map((m) => m.ms).sort((a, b) => a - b);
    const median = values.length % 2 === 1
      ? (values[(values.length - 1) / 2] as number)
      : ((values[values.length / 2 - 1] as number) + (values[values.length / 2] as number)) / 2;
    const f = (ms: number): string => `${Math.round(ms)} ms`.padStart(6);
    return `${row.padEnd(width)} | ${String(values.length).padStart(2)} | ${f(values[0] as number)} | ${f(median)} | ${f(values[values.length - 1] as number)}`;
  });
  return [head, "-".repeat(head.length), ...lines].join("\n");
};

/**
 * `{ tenureCommand }` from `TENURE_INTEROP_TENURE_COMMAND` (a JSON array, e.g.
 * `["deno","run","-A","test/interop/tenure-peer.ts"]`), or nothing: node and the built peer.
 */
export const tenureCommandFromEnv = (): { tenureCommand?: readonly string[] } => {
  const raw = process.env["TENURE_INTEROP_TENURE_COMMAND"];
  if (raw === undefined || raw === "") return {};
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === "string")) {
    throw new Error(`TENURE_INTEROP_TENURE_COMMAND must be a JSON array of strings, got ${raw}`);
  }
  return { tenureCommand: parsed as string[] };
};
