/**
 * `npm run bench`: the core's speed and memory on Node 20 and Node 24, with client-go's elector
 * measured in the same run.
 *
 *  (a) pure protocol: the cost of `step()` per leader renew cycle (Wake -> Send -> Result) and per
 *      candidate poll, driven by hand with synthetic outcomes (client-go has no pure step function);
 *  (b) driver: CPU time per renew of one elector on a memory lock and a VirtualClock, against
 *      client-go's LeaderElector on an in-memory lock (RetryPeriod 1 ns), each in a fresh process;
 *  (c) memory of 10,000 idle electors, each leading its own memory lease, after GC, against
 *      10,000 idle client-go LeaderElectors (heap + goroutine stacks).
 *
 * This process measures Node 20 (the machine's Node), then runs itself with `--tenure-only` on
 * Node 24 (the npm package of test/runtimes/toolchain), then client-go. `--json` prints, as the
 * last line, one JSON object with every figure and the ratios (tenure / client-go).
 *
 * Environment: BENCH_SECONDS (default 1.5) per throughput figure; BENCH_ELECTORS (default 10000).
 */
import { arch, cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { runtime } from "../test/runtimes/runtimes.ts";
import { candidateCycles, leaderCycles } from "./support/protocol-cycles.ts";
import { driverThroughput, type DriverLock, idleMemory, type MemoryResult, type ThroughputResult, virtualClockRate } from "./support/electors.ts";
import { buildGoPeer, type GoMemory, type GoRenew, runGoPeer } from "./support/go-peer.ts";
import { runJson, runProgram } from "./support/process.ts";
import { bytes, num, ratio } from "./support/stats.ts";
import { heading, printTable } from "./support/table.ts";

const seconds = Math.max(1, Number(process.env["BENCH_SECONDS"] ?? 1.5));
const electors = Math.max(1, Math.floor(Number(process.env["BENCH_ELECTORS"] ?? 10_000)));
const args = process.argv.slice(2);
const json = args.includes("--json");
const tenureOnly = args.includes("--tenure-only");
/** `--driver=watched|unwatched|minimal`: one (b) figure, in a process of its own (see `driverIn`). */
const driverOnly = args.find((a) => a.startsWith("--driver="))?.slice("--driver=".length) as DriverLock | undefined;

/** Everything measured of tenure on one runtime. */
interface TenureFigures {
  readonly node: string;
  readonly memory: MemoryResult;
  /** Nanoseconds of `step()` per leader renew cycle (two steps) and per candidate poll (two steps). */
  readonly stepNanosPerRenewCycle: number;
  readonly stepNanosPerCandidateCycle: number;
  readonly stepsPerSecond: { readonly leader: number; readonly candidate: number };
  readonly driver: ThroughputResult;
  /** The same on a memory lock without watch, like client-go's in-memory lock (no echo per renew). */
  readonly driverUnwatched: ThroughputResult;
  /** The same on a lock as small as the Go peer's (no watch, no API-server rules): like for like. */
  readonly driverMinimalLock: ThroughputResult;
  readonly virtualClock: { readonly timersPerSecond: number; readonly cpuMicrosPerTimer: number };
}

/**
 * One (b) figure, measured in a fresh process of the same runtime, as the Go peer measures its
 * renews (`peer-go renew`, a process of its own): in this process, 10,000 electors and the
 * hand-driven step() cycles before it leave the driver's code with polymorphic type feedback,
 * which made the same figure about 20% higher on Node 20.
 */
const driverIn = (lock: DriverLock): Promise<ThroughputResult> =>
  runJson<ThroughputResult>(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), `--driver=${lock}`], 5 * 60_000);

const measureTenure = async (): Promise<TenureFigures> => {
  // Memory first, while the heap is fresh.
  const memory = await idleMemory(electors);
  leaderCycles(0.3); // warm-up
  const leader = leaderCycles(seconds);
  candidateCycles(0.3);
  const candidate = candidateCycles(seconds);
  const driver = await driverIn("watched");
  const driverUnwatched = await driverIn("unwatched");
  const driverMinimalLock = await driverIn("minimal");
  const virtualClock = await virtualClockRate(Math.min(seconds, 1));
  return {
    node: process.version,
    memory,
    stepNanosPerRenewCycle: 1e9 / leader.stepsPerSecond * 2,
    stepNanosPerCandidateCycle: 1e9 / candidate.stepsPerSecond * 2,
    stepsPerSecond: { leader: leader.stepsPerSecond, candidate: candidate.stepsPerSecond },
    driver,
    driverUnwatched,
    driverMinimalLock,
    virtualClock,
  };
};

if (driverOnly !== undefined) {
  console.log(JSON.stringify(await driverThroughput(seconds, 0.3, driverOnly)));
  process.exit(0);
}

if (tenureOnly) {
  console.log(JSON.stringify(await measureTenure()));
  process.exit(0);
}

console.log(`tenure protocol benchmark: ${cpus()[0]?.model ?? "unknown CPU"} x${cpus().length} (${arch()}), load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);

const describeTenure = (t: TenureFigures): void => {
  console.log(`(c) ${num(t.memory.leading)} of ${num(t.memory.electors)} leading; heap ${bytes(t.memory.heapBytesPerElector)}/elector, RSS ${bytes(t.memory.rssBytesPerElector)}/elector`);
  console.log(`    of the heap figure, ${bytes(t.memory.storeBytesPerLease)}/lease is the memory store (the Leases), still held after the electors stopped`);
  console.log(`(a) step() per leader renew cycle (Wake -> Send update -> Result ok): ${num(t.stepNanosPerRenewCycle)} ns (${num(t.stepsPerSecond.leader)} steps/s)`);
  console.log(`(a) step() per candidate poll (Wake -> Send get -> Result held by another): ${num(t.stepNanosPerCandidateCycle)} ns (${num(t.stepsPerSecond.candidate)} steps/s)`);
  console.log(`(b) ${num(t.driver.cpuMicrosPerRenew, 2)} µs CPU per renew, ${num(t.driver.renewsPerSecond)} renews/s (${num(t.driver.renews)} in ${t.driver.seconds.toFixed(2)} s)`);
  console.log(`(b) on a lock without watch (client-go's in-memory lock has none): ${num(t.driverUnwatched.cpuMicrosPerRenew, 2)} µs CPU per renew`);
  console.log(`(b) on a lock as small as the Go peer's (no watch, no API-server rules): ${num(t.driverMinimalLock.cpuMicrosPerRenew, 2)} µs CPU per renew`);
  console.log(`(b) of which the VirtualClock alone (an empty timer re-arming itself): ${num(t.virtualClock.cpuMicrosPerTimer, 2)} µs CPU per timer`);
};

heading(`tenure on Node ${process.versions.node} (this process)`);
const node20 = await measureTenure();
describeTenure(node20);

const node24Runtime = runtime("node24");
let node24: TenureFigures | undefined;
heading(`tenure on ${node24Runtime.label}`);
if (node24Runtime.bin === undefined) {
  console.log(`missing: ${node24Runtime.missing}`);
} else {
  const ran = await runProgram(node24Runtime.bin, ["--expose-gc", fileURLToPath(import.meta.url), "--tenure-only"], 10 * 60_000);
  const line = ran.stdout.trim().split("\n").pop() ?? "";
  if (ran.code === 0 && line.startsWith("{")) {
    node24 = JSON.parse(line) as TenureFigures;
    describeTenure(node24);
  } else {
    console.log(`failed (exit code ${ran.code}): ${ran.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  }
}

heading("client-go v0.37.2 (bench/peer-go), measured now");
let goRenew: (GoRenew & { readonly cpuMicrosPerRenew: number }) | undefined;
let goMemory: GoMemory | undefined;
let missing: string | undefined;
try {
  const binary = await buildGoPeer();
  goRenew = await runGoPeer<GoRenew & { readonly cpuMicrosPerRenew: number }>(binary, ["renew", "-seconds", String(seconds)]);
  console.log(`(b) ${num(goRenew.cpuMicrosPerRenew, 2)} µs CPU per renew, ${num(goRenew.renewsPerSecond)} renews/s (${num(goRenew.renews)} in ${goRenew.seconds.toFixed(2)} s; ${goRenew.go}, GOMAXPROCS ${goRenew.gomaxprocs})`);
  goMemory = await runGoPeer<GoMemory>(binary, ["memory", "-electors", String(electors)]);
  console.log(`(c) ${num(goMemory.leading)} of ${num(goMemory.electors)} leading; heap ${bytes(goMemory.heapBytesPerElector)} + stacks ${bytes(goMemory.stackBytesPerElector)} = ${bytes(goMemory.bytesPerElector)}/elector, RSS ${bytes(goMemory.rssBytesPerElector)}/elector, ${num(goMemory.goroutinesPerElector, 1)} goroutines/elector`);
} catch (error) {
  missing = error instanceof Error ? error.message : String(error);
  console.log(`client-go figures missing, so no ratios: ${missing}`);
}

const value = (n: number | undefined): number | undefined => (n === undefined || !Number.isFinite(n) ? undefined : n);
const over = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || b === 0 ? undefined : value(a / b);

heading("summary (ratio = tenure / client-go; lower is better)");
const n24 = (f: (t: TenureFigures) => string): string => (node24 ? f(node24) : "missing");
/** A CPU-per-renew row: both Node versions against client-go's one figure. */
const renewRow = (label: string, micros: (t: TenureFigures) => number): string[] => [
  label,
  `${num(micros(node20), 2)} µs`,
  n24((t) => `${num(micros(t), 2)} µs`),
  goRenew ? `${num(goRenew.cpuMicrosPerRenew, 2)} µs` : "missing",
  ratio(micros(node20), goRenew?.cpuMicrosPerRenew),
  node24 ? ratio(micros(node24), goRenew?.cpuMicrosPerRenew) : "n/a",
];
printTable(["measure", "Node 20", "Node 24", "client-go", "ratio 20", "ratio 24"], [
  ["(a) step() per leader renew cycle", `${num(node20.stepNanosPerRenewCycle)} ns`, n24((t) => `${num(t.stepNanosPerRenewCycle)} ns`), "no equivalent", "", ""],
  ["(a) step() per candidate poll", `${num(node20.stepNanosPerCandidateCycle)} ns`, n24((t) => `${num(t.stepNanosPerCandidateCycle)} ns`), "no equivalent", "", ""],
  renewRow("(b) CPU per renew, one elector, memory lock", (t) => t.driver.cpuMicrosPerRenew),
  renewRow("(b) the same, lock without watch (as client-go's)", (t) => t.driverUnwatched.cpuMicrosPerRenew),
  renewRow("(b) the same, lock as small as the Go peer's", (t) => t.driverMinimalLock.cpuMicrosPerRenew),
  ["(b) of which the VirtualClock, per timer", `${num(node20.virtualClock.cpuMicrosPerTimer, 2)} µs`, n24((t) => `${num(t.virtualClock.cpuMicrosPerTimer, 2)} µs`), "", "", ""],
  [
    "(c) heap per idle elector (client-go: heap+stack)",
    bytes(node20.memory.heapBytesPerElector),
    n24((t) => bytes(t.memory.heapBytesPerElector)),
    goMemory ? bytes(goMemory.bytesPerElector) : "missing",
    ratio(node20.memory.heapBytesPerElector, goMemory?.bytesPerElector),
    node24 ? ratio(node24.memory.heapBytesPerElector, goMemory?.bytesPerElector) : "n/a",
  ],
  [
    "(c) RSS per idle elector",
    bytes(node20.memory.rssBytesPerElector),
    n24((t) => bytes(t.memory.rssBytesPerElector)),
    goMemory ? bytes(goMemory.rssBytesPerElector) : "missing",
    ratio(node20.memory.rssBytesPerElector, goMemory?.rssBytesPerElector),
    node24 ? ratio(node24.memory.rssBytesPerElector, goMemory?.rssBytesPerElector) : "n/a",
  ],
]);
console.log(
  "\nnotes: (b) tenure runs on a VirtualClock (timers fire at once; each costs one macrotask turn, counted in its figure);\n" +
    "client-go's renew loop needs real timers, so it runs with RetryPeriod 1 ns and LeaseDuration/RenewDeadline 15 s/10 s so that\n" +
    "every renew takes the fast path (Update of the cached record, no Get), as tenure's does. Each side pays its own timer per\n" +
    "renew (tenure's VirtualClock turn, Go's runtime timer). client-go's in-memory lock has no watch, and tenure's leader handles\n" +
    "the watch's echo of every renew: the line 'lock without watch' leaves that out. tenure's memory store also does the\n" +
    "API server's work in-process (MicroTime decoding, validation, resourceVersions, watch history), which the Go peer's\n" +
    "lock does not: the line 'lock as small as the Go peer's' leaves out both. CPU is the process's user + system\n" +
    "time over the measured window (getrusage; Node's process.cpuUsage), divided by the Update calls on the in-memory lock.\n" +
    "(c) tenure: V8 heapUsed delta (the leader's watch on its lease and the memory store's Lease included); client-go:\n" +
    "HeapAlloc + StackInuse delta.",
);
if (missing !== undefined) console.log(`ratios missing because the client-go peer failed: ${missing}`);

if (json) {
  console.log(JSON.stringify({
    seconds,
    electors,
    node20,
    node24: node24 ?? null,
    clientGo: goRenew && goMemory ? { renew: goRenew, memory: goMemory } : null,
    ratios: {
      renewCpu: value(over(node20.driver.cpuMicrosPerRenew, goRenew?.cpuMicrosPerRenew)) ?? null,
      renewCpuNode24: value(over(node24?.driver.cpuMicrosPerRenew, goRenew?.cpuMicrosPerRenew)) ?? null,
      renewCpuUnwatched: value(over(node20.driverUnwatched.cpuMicrosPerRenew, goRenew?.cpuMicrosPerRenew)) ?? null,
      renewCpuUnwatchedNode24: value(over(node24?.driverUnwatched.cpuMicrosPerRenew, goRenew?.cpuMicrosPerRenew)) ?? null,
      renewCpuMinimalLock: value(over(node20.driverMinimalLock.cpuMicrosPerRenew, goRenew?.cpuMicrosPerRenew)) ?? null,
      renewCpuMinimalLockNode24: value(over(node24?.driverMinimalLock.cpuMicrosPerRenew, goRenew?.cpuMicrosPerRenew)) ?? null,
      heapPerElector: value(over(node20.memory.heapBytesPerElector, goMemory?.bytesPerElector)) ?? null,
      heapPerElectorNode24: value(over(node24?.memory.heapBytesPerElector, goMemory?.bytesPerElector)) ?? null,
      rssPerElector: value(over(node20.memory.rssBytesPerElector, goMemory?.rssBytesPerElector)) ?? null,
    },
  }));
}
