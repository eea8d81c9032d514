/**
 * Electors as separate processes, client-go's (the interop peer) or tenure's (tenure-peer.ts),
 * each behind its own counting proxy; the JSON lines they print say when they led (mono_ns, wall).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Timings } from "./config.ts";
import { repoRoot } from "./process.ts";
import { type CountingProxy, type ProxyCert, startProxy } from "./proxy.ts";
import { type Sandbox, type TestCluster, until } from "./kube.ts";

export type Implementation = "tenure" | "client-go";

/** Monotonic milliseconds on the clock both kinds of peer print (CLOCK_MONOTONIC). */
export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface Mark {
  /** CLOCK_MONOTONIC milliseconds. */
  readonly mono: number;
  /** The wall-clock time the peer printed, as RFC3339. */
  readonly wall: string;
}

export interface Peer {
  readonly id: string;
  readonly proxy: CountingProxy;
  readonly started: Mark | undefined;
  readonly stopped: Mark | undefined;
  /** The last leader it reported (onNewLeader / OnNewLeader). */
  readonly leaderSeen: string | undefined;
  readonly exited: Promise<number | null>;
  readonly alive: boolean;
  signal(signal: "SIGTERM" | "SIGKILL"): void;
  /** The last lines it wrote on stderr, for error messages. */
  stderrTail(): string;
}

const seconds = (ms: number): string => `${ms}ms`;

export interface PeerCommand {
  readonly file: string;
  readonly prefix: readonly string[];
}

/** How to start one implementation's peer: the Go binary, or node with tenure-peer.js. */
export const peerCommand = (implementation: Implementation, goPeer: string | undefined): PeerCommand => {
  if (implementation === "client-go") {
    if (goPeer === undefined) throw new Error("the client-go peer was not built");
    return { file: goPeer, prefix: [] };
  }
  return { file: process.execPath, prefix: [join(repoRoot(), ".build/bench/support/tenure-peer.js")] };
};

export const spawnPeer = async (
  command: PeerCommand,
  kube: TestCluster,
  cert: ProxyCert,
  box: Sandbox,
  lease: string,
  id: string,
  timings: Timings,
  releaseOnCancel: boolean,
): Promise<Peer> => {
  const proxy = await startProxy(kube.server, kube.caPem, cert);
  const args = [
    ...command.prefix,
    `--server=${proxy.url}`,
    `--ca-file=${kube.caFile}`,
    `--token-file=${box.tokenFile}`,
    `--namespace=${box.namespace}`,
    `--name=${lease}`,
    `--identity=${id}`,
    `--lease-duration=${seconds(timings.leaseDuration)}`,
    `--renew-deadline=${seconds(timings.renewDeadline)}`,
    `--retry-period=${seconds(timings.retryPeriod)}`,
    ...(releaseOnCancel ? ["--release-on-cancel"] : []),
  ];
  const child: ChildProcess = spawn(command.file, args, { stdio: ["ignore", "pipe", "pipe"] });
  let started: Mark | undefined;
  let stopped: Mark | undefined;
  let leaderSeen: string | undefined;
  let alive = true;
  const stderr: string[] = [];
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr.push(...chunk.split("\n").filter((l) => l !== ""));
    stderr.splice(0, Math.max(0, stderr.length - 20));
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    let event: { event?: string; leader?: string; mono_ns?: number; wall?: string };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    const mark = { mono: (event.mono_ns ?? 0) / 1e6, wall: event.wall ?? "" };
    if (event.event === "started") started = mark;
    else if (event.event === "stopped") stopped = mark;
    else if (event.event === "new_leader") leaderSeen = event.leader;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("error", () => resolve(127));
    child.once("exit", (code) => resolve(code));
  }).then(async (code) => {
    alive = false;
    await proxy.close();
    return code;
  });
  return {
    id,
    proxy,
    exited,
    get started() {
      return started;
    },
    get stopped() {
      return stopped;
    },
    get leaderSeen() {
      return leaderSeen;
    },
    get alive() {
      return alive;
    },
    signal: (signal) => void (alive && child.pid !== undefined && child.kill(signal)),
    stderrTail: () => stderr.join("\n"),
  };
};

/** Peers of one implementation on one Lease; a stopped or killed one is replaced by a fresh identity. */
export class PeerFleet {
  readonly #spawn: (id: string) => Promise<Peer>;
  readonly #label: string;
  #next = 0;
  members: Peer[] = [];

  private constructor(label: string, spawnOne: (id: string) => Promise<Peer>) {
    this.#label = label;
    this.#spawn = spawnOne;
  }

  static async start(label: string, size: number, spawnOne: (id: string) => Promise<Peer>): Promise<PeerFleet> {
    const fleet = new PeerFleet(label, spawnOne);
    for (let i = 0; i < size; i++) fleet.members.push(await fleet.#fresh());
    return fleet;
  }

  #fresh(): Promise<Peer> {
    return this.#spawn(`${this.#label}-${this.#next++}`);
  }

  leaders(): Peer[] {
    return this.members.filter((p) => p.alive && p.started !== undefined && p.stopped === undefined);
  }

  /** One leader, and every other member has reported it as the leader. */
  async settled(limit = 60_000): Promise<Peer> {
    const ok = await until(() => {
      const leaders = this.leaders();
      const leader = leaders[0];
      return leaders.length === 1 && leader !== undefined && this.members.every((p) => p === leader || (p.alive && p.leaderSeen === leader.id));
    }, limit);
    const leader = this.leaders()[0];
    if (!ok || leader === undefined) {
      const state = this.members.map((p) => `${p.id}: ${p.alive ? "alive" : "exited"}, led ${p.started !== undefined}, sees ${p.leaderSeen ?? "-"}; stderr: ${p.stderrTail().split("\n").slice(-2).join(" | ")}`);
      throw new Error(`${this.#label}: no settled leader within ${limit} ms\n  ${state.join("\n  ")}`);
    }
    return leader;
  }

  async replace(old: Peer): Promise<Peer> {
    const fresh = await this.#fresh();
    this.members = this.members.map((p) => (p === old ? fresh : p));
    return fresh;
  }

  /** SIGTERM to all; SIGKILL whoever is still there after 10 s. */
  async stop(): Promise<void> {
    for (const p of this.members) p.signal("SIGTERM");
    const timer = setTimeout(() => this.members.forEach((p) => p.signal("SIGKILL")), 10_000);
    await Promise.all(this.members.map((p) => p.exited));
    clearTimeout(timer);
  }
}
