/**
 * tenure's elector as a process with the command line and output of the client-go peer
 * (test/interop/peer/elector.go), so the interop harness drives both alike:
 *
 *   node .build/test/interop/tenure-peer.js --server=URL --ca-file=F --token-file=F \
 *     --namespace=NS --name=LOCK --identity=ID --lease-duration=3s --renew-deadline=2s \
 *     --retry-period=500ms [--release-on-cancel] [--lock=leases|endpoints|configmaps|endpointsleases|configmapsleases] \
 *     [--clock-sync]
 *
 * and, from the sources, as `deno run -A test/interop/tenure-peer.ts ...`, `bun
 * test/interop/tenure-peer.ts ...` or (Node 22.18+, stripping types) `node test/interop/tenure-peer.ts ...`.
 *
 * Flags are parsed as Go's `flag` package does (`-x`, `--x`, `--x=v`, `--x v`, booleans as `--x` or
 * `--x=false`; durations such as `3s`, `500ms`, `1m30s`). Also accepted, as by the Go peer:
 * `--kubeconfig` (its current context; `--server`, `--ca-file` and `--token-file` override it),
 * `--http-timeout` (tenure's requestTimeout), `--rejoin`, and `--v` (ignored).
 *
 * One JSON object per line on stdout, as the Go peer prints them, plus the clock of mono_ns:
 *
 *   {"event":"ready","identity":"a","tenure":"0.1.0","runtime":"deno","lock":"leases","clock_offset_ns":5216...,"clock_error_ns":81000,"clock":"synced","mono_ns":123,"wall":"..."}
 *   {"event":"new_leader","identity":"a","leader":"b","clock":"synced","mono_ns":124,"wall":"..."}
 *   {"event":"started","identity":"a","clock":"synced","mono_ns":125,"wall":"..."}
 *   {"event":"work_stopped","identity":"a","why":"holder","holder":"b","clock":"synced","mono_ns":126,"wall":"..."}
 *   {"event":"stopped","identity":"a","clock":"synced","mono_ns":127,"wall":"..."}
 *
 * "work_stopped" has no client-go counterpart: it is printed when the leader's signal aborts and
 * its work (onStartedLeading) returns, which tenure awaits before it releases the lock; so it
 * marks the end of this process acting as leader, before the release; `why` is the loss's kind
 * (stopped, renewDeadline, holder with the `holder` seen, failed). "stopped" is
 * onStoppedLeading, after the release, as in the Go peer (where the leader's context is only
 * cancelled after the release too).
 *
 * mono_ns, and "clock", which says what it is (see peer-output.ts): "monotonic" is CLOCK_MONOTONIC,
 * the clock the Go peer and the harness read (Node's process.hrtime); "synced" is this process's
 * own monotonic clock moved onto CLOCK_MONOTONIC by --clock-sync, within clock_error_ns (Deno's and
 * Bun's process.hrtime, which count from their own start); "process" is that own clock unsynced,
 * comparable with nothing else (Deno and Bun without --clock-sync).
 *
 * Errors and the API server's warnings go to stderr, one line each (`tenure-peer: warning: ...`,
 * `tenure-peer: error <reason>: ...`).
 *
 * SIGTERM/SIGINT end the run (with --release-on-cancel the lock is released first) and the process
 * exits 0 after "stopped". Losing leadership without a signal exits 1 after "stopped", unless
 * --rejoin is set, in which case a fresh elector campaigns again.
 *
 * Only process.argv, process.on(signal), process.hrtime, process.stdin/stdout/stderr, node:os and
 * node:readline are used from Node, all of which Deno and Bun provide. The transport is the
 * runtime's own, as `tenure/kubernetes` picks it by export condition (see `pickRuntime`); the
 * `ready` line names it.
 */
import { hostname } from "node:os";
import {
  type Cluster,
  cluster,
  configMapLock,
  coordinatedLeaseLock,
  endpointsLock,
  leadershipEvents,
  fileTokenCredentials,
  leaseLock,
  multiLock,
} from "../../adapters/kubernetes/index.ts";
import { fromKubeconfigWith } from "../../adapters/kubernetes/kubeconfig.ts";
import type { Runtime } from "../../adapters/runtime/runtime.ts";
import { ConfigError, createElector, type Elector, LeadershipLostError, type Lock } from "../../src/index.ts";
import { clockInfo, emit, exit, syncClock, write } from "./peer-output.ts";

const TENURE_VERSION = "0.1.0";
const LOCK_TYPES = ["leases", "endpoints", "configmaps", "endpointsleases", "configmapsleases"] as const;
type LockType = (typeof LOCK_TYPES)[number];

const say = (text: string): void => write(process.stderr, `tenure-peer: ${text}\n`);

const fail = (code: number, message: string): Promise<never> => {
  say(message);
  return exit(code);
};

/**
 * Why the leader's signal aborted, for the checker: `{"why":"holder","holder":"b"}` when another
 * holder was observed (it tells a lease taken from under us apart from a deadline or a stop).
 */
const why = (reason: unknown): Record<string, string> => {
  if (!(reason instanceof LeadershipLostError)) return { why: "unknown" };
  const loss = reason.loss;
  return loss._tag === "holder" || loss._tag === "yield" ? { why: loss._tag, holder: loss.holder } : { why: loss._tag };
};

// -------------------------------------------------------------------------------------
// flags, as Go's flag package reads them
// -------------------------------------------------------------------------------------

interface FlagSpec {
  readonly kind: "string" | "bool" | "duration";
  readonly usage: string;
}

const FLAGS: Readonly<Record<string, FlagSpec>> = {
  server: { kind: "string", usage: "API server URL, e.g. https://127.0.0.1:6443" },
  "token-file": { kind: "string", usage: "file holding the bearer token; re-read every second and after a 401" },
  "ca-file": { kind: "string", usage: "CA bundle for the API server's certificate" },
  kubeconfig: { kind: "string", usage: "kubeconfig file (its current context; --server/--token-file/--ca-file override it)" },
  namespace: { kind: "string", usage: "namespace of the lock object (default \"default\")" },
  name: { kind: "string", usage: "name of the lock object (required)" },
  identity: { kind: "string", usage: "this candidate's identity (default: hostname_pid)" },
  "lease-duration": { kind: "duration", usage: "LeaseDuration (default 15s)" },
  "renew-deadline": { kind: "duration", usage: "RenewDeadline (default 10s)" },
  "retry-period": { kind: "duration", usage: "RetryPeriod (default 2s)" },
  "release-on-cancel": { kind: "bool", usage: "release the lock when SIGTERM ends the run" },
  lock: { kind: "string", usage: `lock type: ${LOCK_TYPES.join(", ")} (default leases)` },
  "http-timeout": { kind: "duration", usage: "per-request timeout while a candidate (default max(1s, renew-deadline/2))" },
  rejoin: { kind: "bool", usage: "after losing leadership without a signal, campaign again instead of exiting 1" },
  "clock-sync": {
    kind: "bool",
    usage: "before campaigning, measure this process's clock against the harness's CLOCK_MONOTONIC by probes on stdout answered on stdin, and print mono_ns on it (needed on Deno and Bun)",
  },
  v: { kind: "string", usage: "log verbosity: accepted as the Go peer's klog flag is, and ignored" },
  coordinated: { kind: "bool", usage: "coordinated leader election: a LeaseCandidate and the coordinated mode (leases only)" },
  "binary-version": { kind: "string", usage: "with --coordinated: the candidate's binaryVersion (default 1.0.0)" },
  "emulation-version": { kind: "string", usage: "with --coordinated: the candidate's emulationVersion (default: --binary-version)" },
  "event-component": { kind: "string", usage: "record leadership Events with this source component (default: none)" },
};

const UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds: `3s`, `500ms`, `1m30s`, `1.5s`, `0`. */
const parseGoDuration = (text: string): number | undefined => {
  if (text === "0") return 0;
  const sign = text.startsWith("-") ? -1 : 1;
  let rest = text.replace(/^[-+]/, "");
  if (rest === "") return undefined;
  let total = 0;
  while (rest !== "") {
    const match = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (match === null) return undefined;
    total += Number(match[1]) * (UNITS[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  return sign * total;
};

type Values = Record<string, string | boolean | number>;

const parseFlags = (argv: readonly string[]): Values | string => {
  const values: Values = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      if (i + 1 < argv.length) return `unexpected arguments: ${argv.slice(i + 1).join(" ")}`;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") return `unexpected arguments: ${argv.slice(i).join(" ")}`;
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const key = eq === -1 ? body : body.slice(0, eq);
    const spec = FLAGS[key];
    if (spec === undefined) return `flag provided but not defined: -${key}`;
    let raw: string;
    if (eq !== -1) raw = body.slice(eq + 1);
    else if (spec.kind === "bool") raw = "true";
    else if (i + 1 < argv.length) raw = argv[++i] as string;
    else return `flag needs an argument: -${key}`;
    if (spec.kind === "bool") {
      if (/^(1|t|T|TRUE|true|True)$/.test(raw)) values[key] = true;
      else if (/^(0|f|F|FALSE|false|False)$/.test(raw)) values[key] = false;
      else return `invalid boolean value "${raw}" for -${key}`;
    } else if (spec.kind === "duration") {
      const ms = parseGoDuration(raw);
      if (ms === undefined) return `invalid value "${raw}" for flag -${key}: parse error`;
      values[key] = ms;
    } else {
      values[key] = raw;
    }
  }
  return values;
};

const usage = (): string =>
  `usage: tenure-peer [flags]\n${Object.entries(FLAGS).map(([k, s]) => `  --${k}${s.kind === "bool" ? "" : ` ${s.kind}`}\n      ${s.usage}`).join("\n")}`;

// -------------------------------------------------------------------------------------
// wiring
// -------------------------------------------------------------------------------------

/**
 * The transport of the runtime we run on, as `tenure/kubernetes` would pick it by export condition
 * (entry-deno.ts, entry-bun.ts and entry-node.ts import these same modules); the rest of the
 * program is the same everywhere. Not `tenure/kubernetes` itself: this program needs a Cluster for
 * an explicit --server and --ca-file, i.e. the runtime's tlsFetch, which only the runtime module
 * offers, and it runs from the sources (under Deno, Bun and Node 22+) as well as from .build/.
 */
const pickRuntime = async (): Promise<Runtime> => {
  if ("Deno" in globalThis) return (await import("../../adapters/runtime/deno.ts")).runtime;
  if ("Bun" in globalThis) return (await import("../../adapters/runtime/bun.ts")).runtime;
  return (await import("../../adapters/runtime/node.ts")).runtime;
};

/** With --coordinated: the candidate's versions. */
interface Versions {
  readonly binaryVersion: string;
  readonly emulationVersion: string;
}

const makeLock = (kube: Cluster, type: LockType, namespace: string, name: string, component: string | undefined, coordinated: Versions | undefined): Lock => {
  const where = { namespace, name, ...(component === undefined || component === "" ? {} : { events: leadershipEvents(kube, { component }) }) };
  switch (type) {
    case "leases":
      return coordinated === undefined ? leaseLock(kube, where) : coordinatedLeaseLock(kube, { ...where, ...coordinated });
    case "endpoints":
      return endpointsLock(kube, where);
    case "configmaps":
      return configMapLock(kube, where);
    case "endpointsleases":
      return multiLock(endpointsLock(kube, where), leaseLock(kube, where));
    case "configmapsleases":
      return multiLock(configMapLock(kube, where), leaseLock(kube, where));
  }
};

const main = async (): Promise<never> => {
  const argv = process.argv.slice(2);
  if (argv.includes("-h") || argv.includes("--help") || argv.includes("-help")) {
    say(usage());
    return exit(0);
  }
  const values = parseFlags(argv);
  if (typeof values === "string") return fail(2, `${values}\n${usage()}`);
  const str = (key: string): string | undefined => values[key] as string | undefined;
  const ms = (key: string, fallback: number): number => (values[key] as number | undefined) ?? fallback;

  const name = str("name");
  if (name === undefined || name === "") return fail(2, "--name is required");
  const server = str("server");
  const kubeconfig = str("kubeconfig");
  if (kubeconfig === undefined && server === undefined) return fail(2, "either --kubeconfig or --server is required");
  const lockType = str("lock") ?? "leases";
  if (!(LOCK_TYPES as readonly string[]).includes(lockType)) {
    return fail(2, `--lock="${lockType}" is not supported (supported: ${LOCK_TYPES.join(", ")})`);
  }
  const identity = str("identity") || `${hostname()}_${process.pid}`;
  const namespace = str("namespace") ?? "default";

  // Signals first, so a SIGTERM that arrives during start-up still ends the run cleanly.
  const controller = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => controller.abort());

  if (values["clock-sync"] === true) {
    const failed = await syncClock(identity);
    if (failed !== undefined) return fail(2, failed);
  }
  const runtime = await pickRuntime();
  const warn = (message: string): void => say(`warning: ${message}`);
  let kube: Cluster;
  try {
    const tokenFile = str("token-file");
    const caFile = str("ca-file");
    if (tokenFile !== undefined) await runtime.readFile(tokenFile);
    const ca = caFile === undefined ? undefined : await runtime.readFile(caFile);
    const credentials = tokenFile === undefined ? undefined : fileTokenCredentials(tokenFile, (path) => runtime.readFile(path), 1_000);
    if (kubeconfig !== undefined) {
      const base = await fromKubeconfigWith(runtime, { path: kubeconfig, warn });
      kube = {
        ...base,
        ...(server === undefined ? {} : { server: server.replace(/\/+$/, "") }),
        ...(ca === undefined ? {} : { fetch: runtime.tlsFetch({ ca }) }),
        ...(credentials === undefined ? {} : { credentials }),
      };
    } else {
      kube = cluster({
        server: server as string,
        fetch: runtime.tlsFetch(ca === undefined ? {} : { ca }),
        ...(credentials === undefined ? {} : { credentials }),
        namespace,
        warn,
      });
    }
  } catch (error) {
    return fail(2, `connecting: ${error instanceof Error ? error.message : String(error)}`);
  }

  const binaryVersion = str("binary-version") ?? "1.0.0";
  const versions = values["coordinated"] === true ? { binaryVersion, emulationVersion: str("emulation-version") || binaryVersion } : undefined;
  if (versions !== undefined && lockType !== "leases") return fail(2, "--coordinated needs --lock=leases");
  let lock: Lock;
  try {
    lock = makeLock(kube, lockType as LockType, namespace, name, str("event-component"), versions);
  } catch (error) {
    return fail(2, error instanceof Error ? error.message : String(error));
  }
  const elect = () =>
    createElector({
      lock,
      identity,
      leaseDuration: ms("lease-duration", 15_000),
      renewDeadline: ms("renew-deadline", 10_000),
      retryPeriod: ms("retry-period", 2_000),
      releaseOnCancel: values["release-on-cancel"] === true,
      ...(values["http-timeout"] === undefined ? {} : { requestTimeout: ms("http-timeout", 0) }),
      name,
      // Work that runs until its signal aborts, as a real leader's does: tenure awaits it before
      // releasing, so "work_stopped" is where this process stopped acting as the leader.
      onStartedLeading: (signal) => {
        emit("started", identity);
        return new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => (emit("work_stopped", identity, why(signal.reason)), resolve()), { once: true });
        });
      },
      onStoppedLeading: () => emit("stopped", identity),
      onNewLeader: (leader) => emit("new_leader", identity, { leader }),
      onError: (error) => say(`error ${error.reason}: ${error.message}`),
    });

  let elector: Elector;
  try {
    elector = elect();
  } catch (error) {
    return fail(2, `invalid leader election config: ${error instanceof ConfigError ? error.issues.join("; ") : String(error)}`);
  }
  emit("ready", identity, { tenure: TENURE_VERSION, runtime: runtime.name, lock: lockType, ...clockInfo() });
  for (;;) {
    try {
      await elector.run(controller.signal);
    } catch (error) {
      return fail(1, `the elector failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (controller.signal.aborted) return exit(0);
    if (values["rejoin"] !== true) return fail(1, "leader election lost");
    elector = elect();
  }
};

await main();
