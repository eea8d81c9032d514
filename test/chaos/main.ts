/**
 * The chaos suite (issue #9): `node .build/test/chaos/main.js [--soak] [--minutes N] [--mixed] [--no-ramp] [--only a,b] [--runtimes node,deno,bun]`
 * (`--minutes` implies `--soak`: random faults for that long, 10 minutes by default; `--only` picks
 * faults by a part of their names; `--runtimes` the tenure fleet, e.g. `node,node,node`, `node` talking HTTP/2 (Node's default transport), `node-h1` HTTP/1.1 through undici;
 * `TENURE_CHAOS_TRACE=dir` has every proxy trace its bytes while a rate limit is on: see trace.ts).
 *
 * Starts its own kube-apiserver + etcd (it kills and restarts them), and two fleets on two Leases
 * in one namespace, side by side under the same faults at the same instants:
 *
 * - tenure: three processes, on Node, Deno and Bun (test/chaos/peer.ts);
 * - client-go v0.37: three processes (test/interop/peer, --act-every).
 *
 * Separate Leases, so that "leaderless time" is each implementation's own (in a mixed fleet a
 * tenure follower would pick up after a client-go leader and the figure would measure neither).
 * `--mixed` adds a third Lease with two tenure and two client-go processes under the same faults:
 * interop under faults (on it, a violation is tenure's when the stale holder is a tenure process).
 *
 * Every process reaches the API server through its own fault proxy (proxy.ts) and runs a work
 * loop that acts only while it leads (tenure: while isLeader(); client-go: while its leader's
 * context is live), printing each act with its term's leaseTransitions, on CLOCK_MONOTONIC
 * (Deno and Bun synced to it by fleet.ts's clock probes). The faults (FAULTS below) hit the
 * leader of each fleet (a silent watch hits the followers), one at a time, each followed by a
 * wait until both fleets have a leader acting again. Then two ramps (RAMPS): the round trip of
 * every process grows, then its bandwidth shrinks, step by step until each implementation's
 * leader loses the lease.
 *
 * acts.ts judges: no overlapping acts, transitions never backwards, a leader acting within
 * leaseDuration + 2.2 x retryPeriod + 1 s after each heal; and prints the table. The run fails
 * on any tenure violation (or a clock or harness failure); client-go's are reported, not failed.
 *
 * @module
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { proxyCert } from "../../bench/support/proxy.ts";
import { type ControlledCluster, startCluster } from "../cluster/cluster.ts";
import type { Timings } from "../interop/checker.ts";
import { Fleet, goPeers, type Impl, monoMs, type Peer, Slot } from "../interop/fleet.ts";
import { ROOT, runtime } from "../runtimes/runtimes.ts";
import { type Act, actedAfterWrite, type Fault, judge, type Write } from "./acts.ts";
import { recordHistory } from "./history.ts";
import { type FaultProxy, startFaultProxy, type Traffic } from "./proxy.ts";

const { values: args } = parseArgs({
  options: {
    soak: { type: "boolean", default: false },
    minutes: { type: "string" },
    "no-ramp": { type: "boolean", default: false },
    only: { type: "string" },
    mixed: { type: "boolean", default: false },
    runtimes: { type: "string", default: "node,deno,bun" },
  },
});
/** The tenure fleet's runtimes (`--runtimes node,node,node` to measure one runtime as leader every time). */
const TENURE_RUNTIMES = args.runtimes.split(",").map((s) => s.trim());
for (const rt of TENURE_RUNTIMES) if (!["node", "node-h1", "deno", "bun"].includes(rt)) throw new Error(`--runtimes: ${rt} is not node (over HTTP/2), node-h1 (Node over HTTP/1.1, undici), deno or bun`);
const SOAK_MINUTES = args.minutes === undefined ? undefined : Number(args.minutes);
if (SOAK_MINUTES !== undefined && !(SOAK_MINUTES > 0)) throw new Error(`--minutes ${args.minutes}: a positive number`);
const SOAK = args.soak || SOAK_MINUTES !== undefined;

const TIMINGS: Timings = { leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500 };
const ACT_EVERY = 100;
/** The issue's bound: after a fault heals, a leader acts within this. */
const BOUND = TIMINGS.leaseDuration + 2.2 * TIMINGS.retryPeriod + 1_000;
/** Gaps between acts up to this long are scheduling noise, not leaderless time. */
const GAP = 2.5 * ACT_EVERY;
const LEASE_MS = TIMINGS.leaseDuration;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const say = (message: string): void => void process.stderr.write(`[chaos] ${message}\n`);

// -------------------------------------------------------------------------------------
// the fleets
// -------------------------------------------------------------------------------------

/**
 * A Lease and its fleet. "mixed" (--mixed): two tenure and two client-go processes on a third
 * Lease, under the same faults, for interop under faults; its leaderless time measures neither
 * implementation alone.
 */
type Group = "tenure" | "client-go" | "mixed";
const GROUPS: readonly Group[] = args.mixed ? ["tenure", "client-go", "mixed"] : ["tenure", "client-go"];

interface Member {
  readonly group: Group;
  readonly label: string;
  readonly proxy: FaultProxy;
  readonly fleet: Fleet;
  readonly slot: Slot;
  readonly tokenFile: string;
  secret: string;
}

const kube: ControlledCluster = await startCluster();
process.chdir(ROOT);
const work = await mkdtemp(join(tmpdir(), "tenure-chaos-"));
const members: Member[] = [];
const faults: Fault[] = [];
const notes: string[] = [];
let exitCode = 0;

const must = async (what: string, response: Promise<{ status: number; text: string; json: any }>): Promise<any> => {
  const { status, text, json } = await response;
  if (status >= 300) throw new Error(`${what}: HTTP ${status}: ${text}`);
  return json;
};

const namespace = await kube.createNamespace("chaos");
await must("role", kube.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "Role",
  metadata: { name: "leader-election" },
  rules: [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "list", "watch", "create", "update", "patch"] }],
}));
await must("rolebinding", kube.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "RoleBinding",
  metadata: { name: "leader-election" },
  subjects: [{ kind: "ServiceAccount", name: "elector", namespace }],
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "leader-election" },
}));

let secrets = 0;
/** A fresh token for `elector`, bound to a new Secret: deleting that Secret revokes it (and only it). */
const issueToken = async (): Promise<{ secret: string; token: string }> => {
  secrets += 1;
  const secret = `token-${secrets}`;
  const created = await must("secret", kube.request("POST", `/api/v1/namespaces/${namespace}/secrets`, { apiVersion: "v1", kind: "Secret", metadata: { name: secret } }));
  const token = await kube.serviceAccountToken(namespace, "elector", { expirationSeconds: 3600, boundObject: { kind: "Secret", name: secret, uid: created.metadata.uid } });
  return { secret, token };
};

// RBAC comes from an informer cache: wait until the binding works.
{
  const { token } = await issueToken();
  for (let i = 0; ; i++) {
    const { status } = await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/probe`, undefined, token);
    if (status === 404) break;
    if (i > 100) throw new Error(`RBAC did not take effect (HTTP ${status})`);
    await sleep(50);
  }
}

const [peers, cert] = await Promise.all([goPeers(["v0.37"]), proxyCert(kube)]);
// The Go peer with the chaos flags, as the one binary fleet.ts spawns (it passes only the interop flags).
const goWrapper = join(work, "client-go-peer.sh");
await writeFile(goWrapper, `#!/bin/sh\nexec ${JSON.stringify(peers["v0.37"])} --rejoin --act-every=${ACT_EVERY}ms "$@"\n`);
await chmod(goWrapper, 0o755);
const chaosPeer = join(ROOT, "test", "chaos", "peer.ts");
const tenureCommands: Record<string, readonly string[]> = {
  node: [process.execPath, join(ROOT, ".build", "test", "chaos", "peer.js")],
  "node-h1": ["/usr/bin/env", "TENURE_CHAOS_HTTP1=1", process.execPath, join(ROOT, ".build", "test", "chaos", "peer.js")],
  deno: [runtime("deno").bin ?? "deno", "run", "--allow-all", chaosPeer],
  bun: [runtime("bun").bin ?? "bun", chaosPeer],
};
const chaosFlags = ["--rejoin", `--act-every=${ACT_EVERY}ms`];

const addMember = async (group: Group, label: string, tenureRuntime?: string): Promise<Member> => {
  const proxy = await startFaultProxy(kube.server, kube.caPem, cert);
  const tokenFile = join(work, `${label}.token`);
  const { secret, token } = await issueToken();
  await writeFile(tokenFile, token);
  const impl: Impl = tenureRuntime !== undefined ? "tenure" : "v0.37";
  const fleet = new Fleet({
    kube: { ...kube, server: proxy.url },
    namespace,
    tokenFile,
    name: group,
    timings: TIMINGS,
    goPeers: { "v0.37": goWrapper },
    ...(tenureRuntime === undefined ? {} : { tenureCommand: [...(tenureCommands[tenureRuntime] as string[]), ...chaosFlags] }),
  });
  const member: Member = { group, label, proxy, fleet, slot: new Slot(fleet, label, impl), tokenFile, secret };
  members.push(member);
  if (process.env["TENURE_CHAOS_TRACE"] !== undefined) say(`trace: ${label} at ${proxy.url}`);
  return member;
};

{
  const seen = new Map<string, number>();
  for (const rt of TENURE_RUNTIMES) {
    const n = (seen.get(rt) ?? 0) + 1;
    seen.set(rt, n);
    await addMember("tenure", `tenure-${rt}${n > 1 ? `-${n}` : ""}`, rt);
  }
}
for (const n of ["a", "b", "c"]) await addMember("client-go", `go-${n}`);
if (args.mixed) {
  for (const rt of ["node", "deno"]) await addMember("mixed", `mixed-tenure-${rt}`, rt);
  for (const n of ["a", "b"]) await addMember("mixed", `mixed-go-${n}`);
}

const groupOf = (g: Group): Member[] => members.filter((m) => m.group === g);
const allPeers = (): Peer[] => members.flatMap((m) => m.fleet.peers);

/** Every act line so far, with its group and transitions. */
const acts = (): Act[] =>
  members.flatMap((m) =>
    m.fleet.peers.flatMap((p) => {
      const uncertainty = Number(p.ready?.["clock_error_ns"] ?? 0) / 1e6;
      return p.lines
        .filter((l) => l.event === "act")
        .map((l) => ({ group: m.group, process: p.identity, mono: l.mono, transitions: Number(/"transitions":(\d+)/.exec(l.raw)?.[1] ?? -1), uncertainty }));
    }),
  );

/** A peer's last act: when, and with which transitions. */
const lastAct = (p: Peer): { mono: number; transitions: number } | undefined => {
  for (let i = p.lines.length - 1; i >= 0; i--) {
    const line = p.lines[i];
    if (line?.event === "act") return { mono: line.mono, transitions: Number(/"transitions":(\d+)/.exec(line.raw)?.[1] ?? -1) };
  }
  return undefined;
};

/**
 * The member of `group` leading now: the only one that acted lately (in the last 3 x ACT_EVERY
 * + 200 ms), in the newest term of its Lease. None while a stale holder still acts beside the
 * new one (client-go's after SIGCONT), so that no fault is dealt to the stale one as "the leader".
 */
const actingMember = (group: Group): Member | undefined => {
  const now = monoMs();
  const top = Math.max(-1, ...groupOf(group).flatMap((m) => m.fleet.peers.map((p) => lastAct(p)?.transitions ?? -1)));
  const recent = groupOf(group).filter((m) => {
    const p = m.slot.peer;
    const last = p === undefined || !p.alive ? undefined : lastAct(p);
    return last !== undefined && now - last.mono < 3 * ACT_EVERY + 200;
  });
  const only = recent.length === 1 ? recent[0] : undefined;
  return only !== undefined && lastAct(only.slot.peer as Peer)?.transitions === top ? only : undefined;
};

/** The pid of a member's process: our child spawned with --identity=<its identity> (fleet.ts keeps its children to itself). */
const pid = (m: Member): number => {
  const identity = m.slot.peer?.identity;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (cmdline.includes(`--identity=${identity}`)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no process of ours runs ${identity}`);
};

/**
 * Waits until every slot runs and every fleet has a member acting, with an act after `since` (a
 * process killed at `since` may still look alive and recently active until its exit is read);
 * false if not within `limit`.
 */
const settled = async (limit: number, since = monoMs()): Promise<boolean> => {
  const end = monoMs() + limit;
  while (monoMs() < end) {
    const acting = GROUPS.every((g) => (actingMember(g)?.slot.peer?.last("act") ?? -Infinity) > since);
    if (acting && members.every((m) => m.slot.running)) return true;
    await sleep(50);
  }
  return false;
};

const restartDead = (): void => {
  for (const m of members) if (!m.slot.running) m.slot.start();
};

// -------------------------------------------------------------------------------------
// the faults
// -------------------------------------------------------------------------------------

interface FaultSpec {
  readonly name: string;
  /** Deals the fault to each group's leader (in parallel); resolves at the heal, with its time. */
  readonly run: (leaders: readonly Member[]) => Promise<number>;
}

/** Holds a proxy fault on the leaders for `ms`, then heals. */
const proxyFault = (name: string, ms: number, set: (p: FaultProxy) => void): FaultSpec => ({
  name,
  run: async (leaders) => {
    for (const m of leaders) set(m.proxy);
    await sleep(ms);
    for (const m of leaders) m.proxy.heal();
    return monoMs();
  },
});

const signalFault = (name: string, signal: "SIGKILL" | "SIGTERM"): FaultSpec => ({
  name,
  run: async (leaders) => {
    const at = monoMs();
    for (const m of leaders) m.fleet.signal(m.slot.peer as Peer, signal);
    // The replacement joins once a new leader acts (or after the bound), as a restarted pod would.
    void (async () => {
      await sleep(signal === "SIGTERM" ? 200 : LEASE_MS + 500);
      for (const m of leaders) await m.slot.peer?.closed;
      restartDead();
    })();
    return at;
  },
});

const FAULTS: readonly FaultSpec[] = [
  proxyFault("TCP latency 400 ms RTT, 6 s", 6_000, (p) => void (p.latency = 400)),
  proxyFault(`TCP blackhole ${LEASE_MS + 2_000} ms`, LEASE_MS + 2_000, (p) => void (p.blackhole = true)),
  proxyFault("TCP resets, 4 s", 4_000, (p) => void (p.resetting = true)),
  proxyFault("TCP bandwidth 2 KB/s, 5 s", 5_000, (p) => void (p.bandwidth = 2_000)),
  {
    name: `SIGSTOP ${LEASE_MS + 2_000} ms, SIGCONT`,
    run: async (leaders) => {
      const pids = leaders.map(pid);
      for (const p of pids) process.kill(p, "SIGSTOP");
      await sleep(LEASE_MS + 2_000);
      const at = monoMs();
      for (const p of pids) process.kill(p, "SIGCONT");
      return at;
    },
  },
  signalFault("SIGKILL", "SIGKILL"),
  signalFault("SIGTERM (releases)", "SIGTERM"),
  {
    name: "kube-apiserver killed, restarted",
    run: async () => {
      await kube.killServer("kube-apiserver");
      await sleep(1_000);
      await kube.restartServer("kube-apiserver");
      return monoMs();
    },
  },
  {
    name: "etcd killed 3 s, restarted",
    run: async () => {
      await kube.killServer("etcd");
      await sleep(3_000);
      await kube.restartServer("etcd");
      return monoMs();
    },
  },
  {
    name: `leader's token revoked ${LEASE_MS + 2_000} ms`,
    run: async (leaders) => {
      for (const m of leaders) await must("revoke", kube.request("DELETE", `/api/v1/namespaces/${namespace}/secrets/${m.secret}`));
      await sleep(LEASE_MS + 2_000);
      for (const m of leaders) {
        const { secret, token } = await issueToken();
        m.secret = secret;
        await writeFile(m.tokenFile, token);
      }
      return monoMs();
    },
  },
  proxyFault("HTTP 429 Retry-After: 1, 5 s", 5_000, (p) => void (p.http = { kind: "status", status: 429, retryAfter: 1 })),
  proxyFault("HTTP 500, 4 s", 4_000, (p) => void (p.http = { kind: "status", status: 500 })),
  proxyFault("HTTP 503 Retry-After: 1, 4 s", 4_000, (p) => void (p.http = { kind: "status", status: 503, retryAfter: 1 })),
  proxyFault("HTTP truncated bodies, 4 s", 4_000, (p) => void (p.http = { kind: "truncate" })),
  proxyFault("HTTP responses never finish, 5 s", 5_000, (p) => void (p.http = { kind: "hang" })),
  {
    name: "followers' watch silent, then leader SIGKILL",
    run: async (leaders) => {
      const followers = members.filter((m) => !leaders.includes(m));
      for (const m of followers) m.proxy.http = { kind: "silent-watch" };
      await sleep(2 * LEASE_MS);
      const at = monoMs();
      for (const m of leaders) m.fleet.signal(m.slot.peer as Peer, "SIGKILL");
      void (async () => {
        await sleep(LEASE_MS + 500);
        for (const m of leaders) await m.slot.peer?.closed;
        restartDead();
        for (const m of followers) m.proxy.heal();
      })();
      return at;
    },
  },
];

// -------------------------------------------------------------------------------------
// the run
// -------------------------------------------------------------------------------------

/**
 * Each process's traffic over a quiet window (no fault): bytes on the wire each way per second,
 * requests per second and TCP connections opened, leader and followers, to see what a slow link
 * must carry.
 */
const TRAFFIC_WINDOW = 4_000;
interface Steady {
  readonly label: string;
  readonly role: string;
  readonly up: number;
  readonly down: number;
  readonly requests: number;
  readonly connections: number;
  readonly protocol: string;
}
let steady: Steady[] = [];
const measureTraffic = async (ms: number): Promise<Steady[]> => {
  const before = members.map((m) => ({ ...m.proxy.traffic }));
  const leaders = GROUPS.map((g) => actingMember(g));
  await sleep(ms);
  return members.map((m, i) => {
    const a = before[i] as Traffic;
    const b = m.proxy.traffic;
    const per = (n: number): number => (n * 1000) / ms;
    return {
      label: m.label,
      role: leaders.includes(m) ? "leader" : "follower",
      up: per(b.up - a.up),
      down: per(b.down - a.down),
      requests: per(b.http1 + b.http2 - a.http1 - a.http2),
      connections: b.connections - a.connections,
      protocol: b.http2 > 0 ? (b.http1 > 0 ? "HTTP/1.1+2" : "HTTP/2") : "HTTP/1.1",
    };
  });
};

/** A ramp: one setting of every process's proxy worsens step by step until each fleet's leader loses the lease. */
interface Ramp {
  readonly name: string;
  /** What the steps set, for the summary line. */
  readonly what: string;
  readonly unit: string;
  readonly steps: readonly number[];
  readonly apply: (proxy: FaultProxy, value: number) => void;
  /** The step at which each fleet's leader lost the lease. */
  readonly lostAt: Record<Group, number | undefined>;
}
const notLost = (): Record<Group, number | undefined> => ({ tenure: undefined, "client-go": undefined, mixed: undefined });
const RAMPS: readonly Ramp[] = [
  { name: "latency ramp", what: "added round trip on every process's connections", unit: "ms", steps: [300, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1400, 1700, 2000], apply: (p, rtt) => void (p.latency = rtt), lostAt: notLost() },
  // Each process's connections each way, as a slow uplink or a saturated node would.
  { name: "bandwidth ramp", what: "every process's connections slowed to", unit: "B/s", steps: [8000, 4000, 3000, 2500, 2000, 1500, 1000, 700, 500], apply: (p, rate) => void (p.bandwidth = rate), lostAt: notLost() },
];
const isRamp = (fault: Fault): boolean => RAMPS.some((r) => r.name === fault.name);

/** Worsens `ramp`'s setting on every process of the fleets that still hold, until each has lost the lease. */
const runRamp = async (ramp: Ramp): Promise<void> => {
  const rampStart = monoMs();
  for (const value of ramp.steps) {
    const open = GROUPS.filter((g) => ramp.lostAt[g] === undefined);
    if (open.length === 0) break;
    if (!(await settled(BOUND + 15_000))) notes.push(`${ramp.name} at ${value} ${ramp.unit}: the fleets had not settled`);
    const leaders = new Map(open.map((g) => [g, actingMember(g)?.slot.peer] as const));
    for (const m of members) if (open.includes(m.group)) ramp.apply(m.proxy, value);
    const at = monoMs();
    await sleep(LEASE_MS + 2_000);
    for (const g of open) {
      const leader = leaders.get(g);
      const lost = leader === undefined || leader.lines.some((l) => (l.event === "stopped" || l.event === "work_stopped") && l.mono > at);
      if (lost) {
        ramp.lostAt[g] = value;
        say(`${ramp.name}: ${g} lost the lease at ${value} ${ramp.unit}`);
        for (const m of groupOf(g)) m.proxy.heal();
      }
    }
  }
  for (const m of members) m.proxy.heal();
  faults.push({ name: ramp.name, start: rampStart, heal: monoMs(), groups: GROUPS });
  await settled(BOUND + 10_000);
  await sleep(1_000);
};

const history = recordHistory(kube, namespace);
const started = monoMs();
try {
  for (const m of members) m.slot.start();
  if (!(await settled(60_000))) throw new Error(`the fleets did not settle: ${members.map((m) => m.fleet.describe()).join("\n")}`);
  say(`fleets ready in ${((monoMs() - started) / 1000).toFixed(1)} s; Leases "tenure" and "client-go" in ${namespace}`);
  await sleep(1_000);
  steady = await measureTraffic(TRAFFIC_WINDOW);

  const only = args.only?.split(",").map((s) => s.trim().toLowerCase());
  const chosen = only === undefined ? FAULTS : FAULTS.filter((f) => only.some((o) => f.name.toLowerCase().includes(o)));
  const deal = async (spec: FaultSpec): Promise<void> => {
    const leaders = GROUPS.map((g) => actingMember(g)).filter((m): m is Member => m !== undefined);
    say(`${spec.name}: leaders ${leaders.map((m) => m.slot.peer?.identity).join(", ")}`);
    const start = monoMs();
    const heal = await spec.run(leaders);
    faults.push({ name: spec.name, start, heal, groups: GROUPS });
    if (!(await settled(BOUND + 15_000, heal))) {
      notes.push(`${spec.name}: the fleets had not settled ${((BOUND + 15_000) / 1000).toFixed(1)} s after the heal`);
      restartDead();
      await settled(30_000);
    }
    await sleep(1_000);
  };

  if (!SOAK) {
    for (const spec of chosen) await deal(spec);
  } else {
    const end = monoMs() + (SOAK_MINUTES ?? 10) * 60_000;
    while (monoMs() < end) await deal(chosen[Math.floor(Math.random() * chosen.length)] as FaultSpec);
  }

  if (!args["no-ramp"] && !SOAK) for (const r of RAMPS) await runRamp(r);
} catch (error) {
  exitCode = 1;
  notes.push(`the run stopped: ${error instanceof Error ? error.stack : String(error)}`);
} finally {
  const until = monoMs();
  await Promise.all(members.map((m) => m.fleet.close()));
  await Promise.all(members.map((m) => m.proxy.close()));
  history.stop();
  await kube.stop();
  report(until);
  process.exit(exitCode);
}

function report(until: number): void {
  const all = acts();
  // A ramp is not judged for recovery: its "heal" is the end of a sweep that ends in losses.
  const verdict = judge(all, faults, { bound: BOUND, gap: GAP, spacing: ACT_EVERY, until, base: started });
  const rows: string[][] = [[
    "fault",
    "impl",
    "leaderless",
    "overlaps (longest, stale acts)",
    `leader acts within ${(BOUND / 1000).toFixed(1)} s of the heal`,
    "lease (old term's last act to the new one's first)",
    "old term stopped acting, after its last committed write",
  ]];
  // The Leases' history: followers' expiry clocks start at a committed write at the earliest.
  const writes: Write[] = history.changes.map((c) => ({ group: c.lease, holder: c.holder, mono: c.mono }));
  const sortedFaults = [...faults].sort((a, b) => a.start - b.start);
  const faultEnd = (f: Fault): number => sortedFaults[sortedFaults.indexOf(f) + 1]?.start ?? until;
  const seconds = (ms: number | undefined): string => (ms === undefined ? "?" : `${(ms / 1000).toFixed(2)} s`);
  for (const fault of faults) {
    for (const g of GROUPS) {
      const r = verdict.results.find((x) => x.fault === fault && x.group === g);
      if (r === undefined) continue;
      const longest = Math.max(0, ...r.overlaps.map((o) => o.ms));
      const stopped = actedAfterWrite(all, writes, g, fault.start, faultEnd(fault), GAP);
      rows.push([
        fault.name,
        g,
        `${(r.leaderless / 1000).toFixed(2)} s`,
        r.overlaps.length === 0 ? "0" : `${r.overlaps.length} (${longest.toFixed(0)} ms, ${r.overlaps.reduce((n, o) => n + o.acts, 0)} acts)`,
        isRamp(fault) ? "-" : r.recovered === undefined ? "no leader" : `${r.boundHeld ? "yes" : "NO"} (${(r.recovered / 1000).toFixed(2)} s)`,
        isRamp(fault) ? "-" : r.handover !== undefined ? `new term (${(r.handover / 1000).toFixed(2)} s)` : stopped === undefined ? "kept" : "same term resumed",
        isRamp(fault) || stopped === undefined ? "-" : seconds(stopped),
      ]);
    }
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(`\nchaos: tenure (Node, Deno, Bun) and client-go v0.37 (3 processes), each on its own Lease${args.mixed ? " (and the mixed Lease: 2 tenure on Node and Deno + 2 client-go)" : ""}, ${TIMINGS.leaseDuration / 1000}s/${TIMINGS.renewDeadline / 1000}s/${TIMINGS.retryPeriod}ms, acting every ${ACT_EVERY} ms\n`);
  console.log(line(rows[0] as string[]));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  if (!args["no-ramp"] && !SOAK) {
    for (const r of RAMPS) {
      const lost = (g: Group): string => r.lostAt[g] === undefined ? `none through ${r.steps.at(-1)} ${r.unit}` : `${r.lostAt[g]} ${r.unit}`;
      console.log(`\n${r.name} (${r.what}): tenure lost the lease at ${lost("tenure")}, client-go at ${lost("client-go")}${args.mixed ? `, the mixed fleet at ${lost("mixed")}` : ""}`);
    }
  }
  const dealt = members.map((m) => `${m.label}: ${m.proxy.dealt.requests} requests faulted, ${m.proxy.dealt.resets} connections reset, ${m.proxy.traffic.connections} opened`);
  console.log(`\nfaults dealt by the proxies: ${dealt.join("; ")}`);
  if (steady.length > 0) {
    const row = (s: Steady): string =>
      `  ${s.label} (${s.role}, ${s.protocol}): ${s.up.toFixed(0)} B/s up, ${s.down.toFixed(0)} B/s down, ${s.requests.toFixed(1)} requests/s, ${s.connections} new connections`;
    console.log(`\nsteady traffic on the wire (TLS bytes, ${TRAFFIC_WINDOW / 1000} s without faults):\n${steady.map(row).join("\n")}`);
  }

  const tenureFailures: string[] = [];
  // On the mixed Lease, a violation is tenure's when the stale holder (or the one acting backwards) is a tenure process.
  for (const o of verdict.overlaps) (o.group === "tenure" || o.a.includes("tenure-") ? tenureFailures : notes).push(`[overlap] ${o.message}`);
  for (const b of verdict.backwards) (/^(tenure|mixed): \S*tenure-/.test(b) ? tenureFailures : notes).push(`[transitions] ${b}`);
  for (const r of verdict.results) {
    if (isRamp(r.fault) || r.boundHeld) continue;
    const message = `[bound] ${r.fault.name}: ${r.group} ${r.recovered === undefined ? "had no leader acting after the heal" : `acted ${(r.recovered / 1000).toFixed(2)} s after the heal`} (bound ${(BOUND / 1000).toFixed(1)} s)`;
    (r.group === "tenure" ? tenureFailures : notes).push(message);
  }
  for (const m of members) {
    for (const e of m.fleet.clockErrors) tenureFailures.push(`[clock] ${e}`);
    // fleet.ts's own checker: only what it says about exits nobody asked for.
    const exits = m.fleet.verdict().violations.filter((v) => v.kind === "unexpected-exit");
    for (const v of exits) {
      const who = m.fleet.peers.find((p) => v.message.startsWith(p.identity));
      const tail = who?.stderr.slice(-5).map((l) => `\n      ${l.slice(0, 400)}`).join("") ?? "";
      (m.slot.impl === "tenure" ? tenureFailures : notes).push(`[exit] ${v.message}${tail}`);
    }
  }
  if (allPeers().length === 0) tenureFailures.push("no peers ran");
  // Everything, for a closer look: each process's lines and stderr, the faults, the verdict.
  const record = join(work, "record.json");
  const peers = members.flatMap((m) => m.fleet.peers.map((p) => ({ group: m.group, identity: p.identity, lines: p.lines.map((l) => l.raw), stderr: p.stderr })));
  writeFileSync(record, JSON.stringify({ base: started, timings: TIMINGS, faults, ramps: Object.fromEntries(RAMPS.map((r) => [r.name, r.lostAt])), peers, verdict, history: history.changes }, null, 1));
  console.log(`\nrecord: ${record}`);
  if (notes.length > 0) console.log(`\nnotes (client-go's findings and harness notes; not failures of the run):\n${notes.map((n) => `  ${n}`).join("\n")}`);
  if (tenureFailures.length > 0) {
    console.log(`\nFAILED: tenure violations:\n${tenureFailures.map((n) => `  ${n}`).join("\n")}`);
    exitCode = 1;
  } else if (exitCode === 0) console.log("\nok: no tenure violations");
  console.log(`chaos run: ${((until - started) / 1000).toFixed(0)} s of faults`);
}
