/**
 * Replica processes of a sharded election, tenure's (shards-replica.ts) or client-go's
 * (peer-shards-go), started with the same flags, read through the same JSON lines: which leases
 * each leads (as the bench receives the lines), its request counts and heap, and what /proc says
 * about its connections, CPU and memory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { repoRoot } from "./process.ts";
import { connectionsTo } from "./shards-proc.ts";

export type Implementation = "tenure" | "client-go";

export interface Counts {
  readonly held: number;
  readonly followed: number;
  readonly other: number;
}

export interface Stats {
  /** performance.now() when the bench received the line. */
  readonly at: number;
  readonly requests: Counts;
  readonly methods: Readonly<Record<string, number>>;
  readonly heapBytes: number;
}

export interface ReplicaProcess {
  readonly id: string;
  readonly pid: number;
  readonly held: Set<string>;
  /** Every stats line so far. */
  readonly stats: Stats[];
  /** The heap before the election started. */
  baseHeap: number | undefined;
  alive: boolean;
  /** Most connections to the API server seen open at once, over the whole run and since `window()`. */
  mostConnections: number;
  windowConnections: number;
  readonly exited: Promise<void>;
  signal(signal: "SIGTERM" | "SIGKILL" | "SIGUSR2"): void;
  stderrTail(): string;
  /** Lines it wrote on stderr so far (each a failed request or watch: timeouts, errors). */
  readonly errors: { count: number };
}

export interface Launch {
  readonly implementation: Implementation;
  /** The client-go peer binary, for client-go. */
  readonly goPeer?: string | undefined;
  readonly server: string;
  readonly caFile: string;
  readonly tokenFile: string;
  readonly namespace: string;
  readonly leases: number;
  readonly timings: { readonly leaseDuration: number; readonly renewDeadline: number; readonly retryPeriod: number };
}

/** TENURE_SHARDS_PROFILE=<dir>: tenure's replicas write CPU profiles there (node --cpu-prof). */
const profile = (id: string): string[] => {
  const dir = process.env["TENURE_SHARDS_PROFILE"];
  return dir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${id}.cpuprofile`];
};

export class ShardFleet {
  readonly replicas: ReplicaProcess[] = [];
  /** Times a replica reported starting a lease that another live replica had not reported stopping. */
  overlaps = 0;
  readonly #launch: Launch;
  readonly #port: number;
  #sampler: ReturnType<typeof setInterval> | undefined;

  constructor(launch: Launch) {
    this.#launch = launch;
    this.#port = Number(new URL(launch.server).port);
  }

  spawn(id: string, maxHeld?: number): ReplicaProcess {
    const l = this.#launch;
    const flags = [
      `--server=${l.server}`,
      `--ca-file=${l.caFile}`,
      `--token-file=${l.tokenFile}`,
      `--namespace=${l.namespace}`,
      `--leases=${l.leases}`,
      `--identity=${id}`,
    ];
    const durations = l.implementation === "tenure"
      ? [`--lease-duration=${l.timings.leaseDuration}`, `--renew-deadline=${l.timings.renewDeadline}`, `--retry-period=${l.timings.retryPeriod}`]
      : [`--lease-duration=${l.timings.leaseDuration}ms`, `--renew-deadline=${l.timings.renewDeadline}ms`, `--retry-period=${l.timings.retryPeriod}ms`];
    const [file, args] = l.implementation === "tenure"
      ? [process.execPath, ["--expose-gc", ...profile(id), join(repoRoot(), ".build/bench/support/shards-replica.js"), ...flags, ...durations, ...(maxHeld === undefined ? [] : [`--max-held=${maxHeld}`])]]
      : [l.goPeer as string, [...flags, ...durations]];
    const child: ChildProcess = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    const stderr: string[] = [];
    const errors = { count: 0 };
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = chunk.split("\n").filter((line) => line !== "");
      errors.count += lines.length;
      stderr.push(...lines);
      stderr.splice(0, Math.max(0, stderr.length - 20));
    });
    const replica: ReplicaProcess = {
      id,
      pid: child.pid as number,
      held: new Set(),
      stats: [],
      baseHeap: undefined,
      alive: true,
      mostConnections: 0,
      windowConnections: 0,
      exited: new Promise<void>((resolve) => child.once("exit", () => resolve())).then(() => void (replica.alive = false)),
      signal: (signal) => void (replica.alive && child.kill(signal)),
      stderrTail: () => stderr.join("\n"),
      errors,
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      let event: { event?: string; lease?: string; requests?: Counts; methods?: Record<string, number>; heap_bytes?: number };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        return;
      }
      const lease = event.lease ?? "";
      switch (event.event) {
        case "ready":
          replica.baseHeap = event.heap_bytes;
          break;
        case "started":
          if (this.replicas.some((r) => r !== replica && r.alive && r.held.has(lease))) this.overlaps++;
          replica.held.add(lease);
          break;
        case "stopped":
          replica.held.delete(lease);
          break;
        case "stats":
          replica.stats.push({ at: performance.now(), requests: event.requests as Counts, methods: event.methods ?? {}, heapBytes: event.heap_bytes ?? NaN });
          break;
      }
    });
    this.replicas.push(replica);
    return replica;
  }

  /** Samples every live replica's connections to the API server every 250 ms, keeping the most. */
  sampleConnections(): void {
    this.#sampler ??= setInterval(() => {
      const live = this.replicas.filter((r) => r.alive);
      const counts = connectionsTo(live.map((r) => r.pid), this.#port);
      for (const r of live) {
        r.mostConnections = Math.max(r.mostConnections, counts.get(r.pid) ?? 0);
        r.windowConnections = Math.max(r.windowConnections, counts.get(r.pid) ?? 0);
      }
    }, 250);
  }

  /** Starts counting connections afresh for the steady-state window. */
  window(): void {
    for (const r of this.replicas) r.windowConnections = 0;
  }

  /** How many of `leases` some live replica leads (by what the replicas reported). */
  led(leases: Iterable<string>): number {
    const live = this.replicas.filter((r) => r.alive);
    let count = 0;
    for (const lease of leases) if (live.some((r) => r.held.has(lease))) count++;
    return count;
  }

  /** Asks every live replica for its stats (SIGUSR2) and waits for them. */
  async stats(): Promise<void> {
    const live = this.replicas.filter((r) => r.alive);
    const before = live.map((r) => r.stats.length);
    for (const r of live) r.signal("SIGUSR2");
    const deadline = performance.now() + 30_000;
    while (live.some((r, i) => r.stats.length <= (before[i] as number))) {
      if (performance.now() > deadline) throw new Error(`no stats within 30 s from ${live.filter((r, i) => r.stats.length <= (before[i] as number)).map((r) => r.id).join(", ")}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** SIGTERM to all; SIGKILL whoever is still there after 15 s. */
  async stop(): Promise<void> {
    clearInterval(this.#sampler);
    for (const r of this.replicas) r.signal("SIGTERM");
    const timer = setTimeout(() => this.replicas.forEach((r) => r.signal("SIGKILL")), 15_000);
    await Promise.all(this.replicas.map((r) => r.exited));
    clearTimeout(timer);
  }
}
