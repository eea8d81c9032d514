/**
 * Electors as separate processes, client-go's (the interop peer) or tenure's (tenure-peer.ts),
 * each behind its own counting proxy, as fleet members (fleet.ts); the JSON lines they print say
 * when they led (mono_ns, wall). SIGTERM stops one (releasing with --release-on-cancel), SIGKILL
 * crashes it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Timings } from "./config.ts";
import { repoRoot } from "./process.ts";
import { type ProxyCert, startProxy } from "./proxy.ts";
import type { Electors, Mark, Member } from "./fleet.ts";
import { epochMs, readLease, type Sandbox, sleep, type TestCluster } from "./kube.ts";

export type Implementation = "tenure" | "client-go";

/**
 * The peers print CLOCK_MONOTONIC (mono_ns), the clock behind both process.hrtime and
 * performance.now() here: their difference is fixed, so one reading maps peers' times onto ours.
 */
const MONO_MINUS_PERF = Number(process.hrtime.bigint()) / 1e6 - performance.now();

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

/** One peer process behind its own counting proxy, as a fleet member. */
export const spawnPeer = async (
  command: PeerCommand,
  kube: TestCluster,
  cert: ProxyCert,
  box: Sandbox,
  lease: string,
  id: string,
  timings: Timings,
  releaseOnCancel: boolean,
): Promise<Member> => {
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
  let stopped: number | undefined;
  let ended: number | undefined;
  let leaderSeen: string | undefined;
  let signalled = false;
  const errors: { at: number; text: string }[] = [];
  const stderr: string[] = [];
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = chunk.split("\n").filter((l) => l !== "");
    const at = performance.now();
    for (const text of lines) errors.push({ at, text });
    stderr.push(...lines);
    stderr.splice(0, Math.max(0, stderr.length - 20));
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    let event: { event?: string; leader?: string; mono_ns?: number; wall?: string };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    const at = (event.mono_ns ?? 0) / 1e6 - MONO_MINUS_PERF;
    if (event.event === "started") started = { at, wall: epochMs(event.wall ?? "") };
    else if (event.event === "stopped") stopped = at;
    else if (event.event === "new_leader") leaderSeen = event.leader;
  });
  const exited = new Promise<void>((resolve) => {
    child.once("error", () => resolve());
    child.once("exit", () => resolve());
  }).then(async () => {
    ended = performance.now();
    await proxy.close();
  });
  const signal = (name: "SIGTERM" | "SIGKILL"): void => {
    signalled = true;
    if (ended === undefined && child.pid !== undefined) child.kill(name);
  };
  return {
    id,
    sent: proxy.sent,
    errors,
    get leading() {
      return ended === undefined && started !== undefined && stopped === undefined;
    },
    get leaderSeen() {
      return ended === undefined ? leaderSeen : undefined;
    },
    get started() {
      return started;
    },
    get steppedDown() {
      return stopped ?? ended;
    },
    stop: () => signal("SIGTERM"),
    crash: async () => {
      signal("SIGKILL");
      await exited;
      await sleep(200); // what the proxy had forwarded lands
    },
    retire: async () => {
      if (!signalled) signal("SIGTERM");
      await exited;
    },
    describe: () =>
      `${id}: ${ended === undefined ? "alive" : "exited"}, led ${started !== undefined}, sees ${leaderSeen ?? "-"}; ` +
      `stderr: ${stderr.slice(-2).join(" | ")}`,
  };
};

/** Peer processes of one implementation as the sandbox's ServiceAccount, identities `<implementation>-<n>`. */
export const peerElectors = (implementation: Implementation, command: PeerCommand, kube: TestCluster, cert: ProxyCert, box: Sandbox): Electors => ({
  label: implementation,
  settleLimitMs: 60_000,
  spawn: (lease, id, timings, releaseOnCancel) => spawnPeer(command, kube, cert, box, lease, id, timings, releaseOnCancel),
  readLease: (lease) => readLease(kube, box.namespace, lease),
});
