/**
 * A tenure elector with a work loop, for the chaos suite: the command line and output of
 * test/interop/tenure-peer.ts (which the interop harness, fleet.ts, drives), leases only, plus
 * `--act-every=D`: while leading, every D, if `isLeader()` is true at that instant, it prints
 *
 *   {"event":"act","identity":"a","transitions":3,"clock":"monotonic","mono_ns":127,"wall":"..."}
 *
 * with the term's fencing number (`term.transitions`). The Go peer prints the same line while its
 * leader's context is live (test/interop/peer/elector.go --act-every).
 *
 * Flags as the harness passes them (`--x=v`, booleans bare): --server --ca-file --token-file
 * --namespace --name --identity --lease-duration --renew-deadline --retry-period
 * --release-on-cancel --lock=leases --clock-sync --rejoin --act-every.
 *
 * --clock-sync speaks tenure-peer's probe protocol (`{"event":"clock_probe","seq":n}` out, `n h` in:
 * see peer-output.ts, which both use): Deno's and Bun's process.hrtime counts from their own start,
 * so their times are moved onto the harness's CLOCK_MONOTONIC within a measured error.
 *
 * Runs from .build under Node, and from the sources under Deno (`deno run -A`) and Bun.
 */
import { cluster, fileTokenCredentials, leaseLock } from "../../adapters/kubernetes/index.ts";
import type { Runtime } from "../../adapters/runtime/runtime.ts";
import { createElector, type Elector } from "../../src/index.ts";
import { clockInfo, emit, exit, syncClock, write } from "../interop/peer-output.ts";

const say = (text: string): void => write(process.stderr, `chaos-peer: ${text}\n`);

// ------------------------------------------------------------------ flags
const duration = (text: string): number => {
  let total = 0;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m)/g)) total += Number(n) * (units[unit as string] as number);
  return total;
};
const flags = new Map<string, string>();
for (const arg of process.argv.slice(2)) {
  const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(arg);
  if (m === null) {
    say(`unexpected argument ${arg}`);
    await exit(2);
  }
  flags.set(m?.[1] as string, m?.[2] ?? "true");
}
const need = (key: string): string => {
  const value = flags.get(key);
  if (value === undefined) throw new Error(`--${key} is required`);
  return value;
};

const pickRuntime = async (): Promise<Runtime> => {
  if ("Deno" in globalThis) return (await import("../../adapters/runtime/deno.ts")).runtime;
  if ("Bun" in globalThis) return (await import("../../adapters/runtime/bun.ts")).runtime;
  const node = await import("../../adapters/runtime/node.ts");
  return process.env["TENURE_CHAOS_HTTP1"] === "1" ? node.http1Runtime : node.runtime; // main.ts's `--runtimes node-h1`; `node` is HTTP/2
};

const main = async (): Promise<never> => {
  const identity = need("identity");
  const name = need("name");
  const namespace = flags.get("namespace") ?? "default";
  if ((flags.get("lock") ?? "leases") !== "leases") return (say("only --lock=leases"), exit(2));
  const actEvery = duration(flags.get("act-every") ?? "0");
  const controller = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => controller.abort());

  if (flags.get("clock-sync") === "true") {
    const failed = await syncClock(identity);
    if (failed !== undefined) return (say(failed), exit(2));
  }
  const runtime = await pickRuntime();
  const tokenFile = need("token-file");
  const kube = cluster({
    server: need("server"),
    fetch: runtime.tlsFetch({ ca: await runtime.readFile(need("ca-file")) }),
    credentials: fileTokenCredentials(tokenFile, (path) => runtime.readFile(path), 1_000),
    namespace,
    warn: (message) => say(`warning: ${message}`),
  });
  const lock = leaseLock(kube, { namespace, name });
  const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });

  let elector: Elector;
  const elect = (): Elector =>
    createElector({
      lock,
      identity,
      name,
      leaseDuration: duration(need("lease-duration")),
      renewDeadline: duration(need("renew-deadline")),
      retryPeriod: duration(need("retry-period")),
      releaseOnCancel: flags.get("release-on-cancel") === "true",
      // The leader's work: acts only while isLeader() says so at that instant, until its signal aborts.
      onStartedLeading: async (signal, term) => {
        emit("started", identity);
        const self = elector;
        while (!signal.aborted && actEvery > 0) {
          if (self.isLeader()) emit("act", identity, { transitions: term.transitions });
          await sleep(actEvery, signal);
        }
        while (!signal.aborted) await sleep(1_000_000, signal);
        emit("work_stopped", identity);
      },
      onStoppedLeading: () => emit("stopped", identity),
      onNewLeader: (leader) => emit("new_leader", identity, { leader }),
      onError: (error) => say(`error ${error.reason}: ${error.message}`),
    });
  elector = elect();
  emit("ready", identity, { runtime: runtime.name, lock: "leases", ...clockInfo() });
  for (;;) {
    await elector.run(controller.signal);
    if (controller.signal.aborted) return exit(0);
    if (flags.get("rejoin") !== "true") return (say("leader election lost"), exit(1));
    elector = elect();
  }
};

try {
  await main();
} catch (error) {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  await exit(1);
}
