/**
 * What the command's tests share: the `tenure` command as a process (from .build on this Node,
 * or any other build through TENURE_CLI, e.g. a compiled executable), a sandbox with a kubeconfig
 * for a least-privilege ServiceAccount, the recording child and the checker of its records.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventually, sleep } from "../support/wait.ts";

export { eventually, sleep };

/** The cluster's support, loaded only by tests that use it (it connects when loaded). */
const e2e = () => import("../e2e/support.ts");

/** The test API server's URL. */
export const apiServer = async (): Promise<string> => (await e2e()).kube.server;

const root = fileURLToPath(new URL("../../..", import.meta.url));
/** The test's child, from the sources (it is not compiled). */
export const RECORD_CHILD: string = join(root, "test", "cli", "record-child.sh");

/**
 * How to start tenure: `TENURE_CLI` (a command line, split on spaces: a compiled executable, or
 * `deno run -A dist/cli/main.js`), else this Node on .build/cli/main.js.
 */
export const TENURE: readonly string[] = process.env["TENURE_CLI"]?.split(" ").filter((s) => s !== "") ??
  [process.execPath, join(root, ".build", "cli", "main.js")];

/** Short timings: a 4 s lease, 2 s renew deadline, so the default grace is 4 - 2 - 1 = 1 s. */
export const FAST = ["--lease-duration", "4s", "--renew-deadline", "2s", "--retry-period", "500ms"] as const;
export const LEASE_MS = 4_000;

export interface Box {
  readonly namespace: string;
  readonly dir: string;
  /** A kubeconfig for the sandbox's ServiceAccount, at `server` (default: the cluster itself). */
  kubeconfig(server?: string): string;
}

let configs = 0;
export const cliSandbox = async (prefix: string, rules?: readonly object[]): Promise<Box> => {
  const { kube, sandbox } = await e2e();
  const box = await sandbox(prefix, rules);
  const dir = box.serviceAccountDir;
  return {
    namespace: box.namespace,
    dir,
    kubeconfig: (server = kube.server) => {
      const file = join(dir, `kubeconfig-${++configs}`);
      writeFileSync(file, [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: test",
        "  cluster:",
        `    server: ${server}`,
        `    certificate-authority: ${join(dir, "ca.crt")}`,
        "users:",
        "- name: elector",
        "  user:",
        `    tokenFile: ${box.tokenFile}`,
        "contexts:",
        "- name: test",
        "  context:",
        "    cluster: test",
        "    user: elector",
        `    namespace: ${box.namespace}`,
        "current-context: test",
        "",
      ].join("\n"));
      return file;
    },
  };
};

export interface Tenure {
  readonly process: ChildProcess;
  readonly pid: number;
  /** What it wrote to stderr so far. */
  stderr(): string;
  stdout(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until stderr matches; the match, or a failure naming what was seen. */
  waitFor(pattern: RegExp, limit?: number): Promise<RegExpMatchArray>;
}

const running = new Set<ChildProcess>();

/** Starts `tenure ARGS...`; every process still running at the end of the test file is killed. */
export const tenure = (
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  prefix: readonly string[] = [],
  /** Another way to start tenure than TENURE (`bun x --bun tenure`), from `cwd`. */
  launcher: { readonly command: readonly string[]; readonly cwd?: string } = { command: TENURE },
): Tenure => {
  const [file, ...rest] = [...prefix, ...launcher.command] as [string, ...string[]];
  const child = spawn(file, [...rest, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, cwd: launcher.cwd });
  running.add(child);
  let err = "";
  let out = "";
  child.stderr?.on("data", (chunk: Buffer) => void (err += chunk.toString()));
  child.stdout?.on("data", (chunk: Buffer) => void (out += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => (running.delete(child), resolve({ code, signal }))));
  return {
    process: child,
    pid: child.pid as number,
    stderr: () => err,
    stdout: () => out,
    exited,
    waitFor: async (pattern, limit = 20_000) => {
      let match: RegExpMatchArray | null = null;
      await eventually(() => (match = pattern.exec(err)) !== null, limit);
      if (match === null) throw new Error(`tenure ${args.join(" ")} did not print ${pattern} within ${limit} ms; its stderr:\n${err}`);
      return match;
    },
  };
};

export const killAll = (): void => {
  for (const child of running) child.kill("SIGKILL");
};

// -------------------------------------------------------------------------------------
// records
// -------------------------------------------------------------------------------------

export interface Entry {
  readonly event: "start" | "beat" | "stop" | "term" | "exit";
  readonly identity: string;
  /** Wall clock, ms (from ns). */
  readonly at: number;
  readonly pid: number;
  readonly transitions: number;
}

export const readRecord = (file: string): Entry[] => {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").filter((line) => line !== "").map((line) => {
    const [event, identity, ns, pid, transitions] = line.split(" ");
    return { event, identity, at: Number(BigInt(ns as string) / 1000n) / 1000, pid: Number(pid), transitions: Number(transitions) } as Entry;
  });
};

export interface Life {
  readonly identity: string;
  readonly pid: number;
  readonly start: number;
  /** Its stop record, else its last record. */
  readonly end: number;
  readonly stopped: boolean;
  readonly transitions: number;
}

/** One life per child process (identity + pid), in order of start. */
export const lives = (entries: readonly Entry[]): Life[] => {
  const byChild = new Map<string, Entry[]>();
  for (const e of entries) {
    const key = `${e.identity} ${e.pid}`;
    byChild.set(key, [...(byChild.get(key) ?? []), e]);
  }
  return [...byChild.values()].map((list) => {
    const start = list.find((e) => e.event === "start");
    const stop = list.find((e) => e.event === "stop" || e.event === "exit");
    const first = list[0] as Entry;
    return {
      identity: first.identity,
      pid: first.pid,
      start: (start ?? first).at,
      end: (stop ?? list[list.length - 1] as Entry).at,
      stopped: stop !== undefined,
      transitions: first.transitions,
    };
  }).sort((a, b) => a.start - b.start);
};

/** "Exactly one child at any instant": every life starts after the previous one ended. */
export const overlaps = (all: readonly Life[]): string[] => {
  const problems: string[] = [];
  for (let i = 1; i < all.length; i++) {
    const [before, after] = [all[i - 1] as Life, all[i] as Life];
    if (after.start <= before.end) {
      problems.push(`${after.identity} (pid ${after.pid}) started ${(before.end - after.start).toFixed(1)} ms before ${before.identity} (pid ${before.pid}) ended`);
    }
  }
  return problems;
};

/** True once no process has that pid (a zombie counts as gone: it runs nothing). */
export const gone = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
};

/** The leadership Events of a namespace (e2e/support.ts's, loaded with the cluster). */
export const leaderElectionEvents = async (namespace: string): Promise<{ message: string; source: object; involvedObject: { kind: string; name: string } }[]> =>
  (await e2e()).leaderElectionEvents(namespace);

/** The Lease as the API server holds it. */
export const leaseSpec = async (namespace: string, name: string): Promise<{ holderIdentity?: string; leaseTransitions?: number; renewTime?: string; acquireTime?: string; leaseDurationSeconds?: number } | undefined> => {
  const { status, json } = await (await e2e()).kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`);
  return status === 200 ? json.spec : undefined;
};

export { sleep as wait };
