/**
 * `npm run bench`: the core's speed and memory, with client-go's elector measured in the same run.
 *
 *  (a) pure protocol steps per second: a leader's renew cycles and a candidate's polls, driven by
 *      hand with synthetic outcomes (client-go has no pure step function: no peer figure);
 *  (b) driver throughput: renew attempts per second of one elector on a memory lock and a
 *      VirtualClock, against client-go's LeaderElector on an in-memory lock (RetryPeriod 1 ns);
 *  (c) memory of 10,000 idle electors, each leading its own memory lease, after GC, against
 *      10,000 idle client-go LeaderElectors (heap + goroutine stacks).
 *
 * Environment: BENCH_SECONDS (default 1.5) per throughput figure; BENCH_ELECTORS (default 10000).
 */
import { arch, cpus, loadavg } from "node:os";
import { candidateCycles, leaderCycles } from "./support/protocol-cycles.ts";
import { driverThroughput, idleMemory, virtualClockRate } from "./support/electors.ts";
import { buildGoPeer, type GoMemory, type GoRenew, runGoPeer } from "./support/go-peer.ts";
import { bytes, num, ratio } from "./support/stats.ts";
import { heading, printTable } from "./support/table.ts";

const seconds = Math.max(1, Number(process.env["BENCH_SECONDS"] ?? 1.5));
const electors = Math.max(1, Math.floor(Number(process.env["BENCH_ELECTORS"] ?? 10_000)));

console.log(`tenure protocol benchmark: node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"} x${cpus().length} (${arch()}), load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);

// Memory first, while the heap is fresh.
heading(`(c) memory: ${num(electors)} idle electors, each leading its own memory lease (timings 60 s/40 s/20 s, system clock)`);
const memory = await idleMemory(electors);
console.log(`tenure: ${num(memory.leading)} of ${num(memory.electors)} leading; heap ${bytes(memory.heapBytesPerElector)}/elector, RSS ${bytes(memory.rssBytesPerElector)}/elector`);
console.log(`        of the heap figure, ${bytes(memory.storeBytesPerLease)}/lease is the memory store (the Lease and its test operation log, ${num(memory.storeLogEntries)} entries), still held after the electors stopped`);

heading(`(a) pure protocol: step() calls per second, ${seconds} s each`);
leaderCycles(0.3); // warm-up
const leader = leaderCycles(seconds);
candidateCycles(0.3);
const candidate = candidateCycles(seconds);
console.log(`leader renew cycle (Wake -> Send update -> Result ok): ${num(leader.stepsPerSecond)} steps/s (${num(leader.steps)} steps in ${leader.seconds.toFixed(2)} s)`);
console.log(`candidate cycle (Wake -> Send get -> Result held by another): ${num(candidate.stepsPerSecond)} steps/s (${num(candidate.steps)} steps in ${candidate.seconds.toFixed(2)} s)`);

heading(`(b) driver: renew attempts per second of one elector on a memory lock, VirtualClock (15 s/10 s/2 s), ${seconds} s`);
const driver = await driverThroughput(seconds);
console.log(`tenure: ${num(driver.renewsPerSecond)} renews/s (${num(driver.renews)} in ${driver.seconds.toFixed(2)} s; ${num(driver.virtualMsPerRenew, 0)} virtual ms per renew)`);
const clockFloor = await virtualClockRate(Math.min(seconds, 1));
console.log(`the VirtualClock alone (an empty timer re-arming itself): ${num(clockFloor)} timers/s, the ceiling for (b)`);

heading("client-go v0.37.2 (bench/peer-go), measured now");
let goRenew: GoRenew | undefined;
let goMemory: GoMemory | undefined;
let missing: string | undefined;
try {
  const binary = await buildGoPeer();
  goRenew = await runGoPeer<GoRenew>(binary, ["renew", "-seconds", String(seconds)]);
  console.log(`client-go: ${num(goRenew.renewsPerSecond)} renews/s (${num(goRenew.renews)} in ${goRenew.seconds.toFixed(2)} s; ${goRenew.go}, GOMAXPROCS ${goRenew.gomaxprocs})`);
  goMemory = await runGoPeer<GoMemory>(binary, ["memory", "-electors", String(electors)]);
  console.log(`client-go: ${num(goMemory.leading)} of ${num(goMemory.electors)} leading; heap ${bytes(goMemory.heapBytesPerElector)} + stacks ${bytes(goMemory.stackBytesPerElector)} = ${bytes(goMemory.bytesPerElector)}/elector, RSS ${bytes(goMemory.rssBytesPerElector)}/elector, ${num(goMemory.goroutinesPerElector, 1)} goroutines/elector`);
} catch (error) {
  missing = error instanceof Error ? error.message : String(error);
  console.log(`client-go figures missing, so no ratios: ${missing}`);
}

heading("summary (ratio = tenure / client-go)");
printTable(["measure", "tenure", "client-go", "ratio"], [
  ["(a) protocol steps/s, leader renew cycle", num(leader.stepsPerSecond), "no equivalent", "n/a"],
  ["(a) protocol steps/s, candidate cycle", num(candidate.stepsPerSecond), "no equivalent", "n/a"],
  ["(b) renew attempts/s, one elector (higher is better)", num(driver.renewsPerSecond), goRenew ? num(goRenew.renewsPerSecond) : "missing", ratio(driver.renewsPerSecond, goRenew?.renewsPerSecond)],
  ["(b) VirtualClock alone, empty timers/s (ceiling for (b))", num(clockFloor), "", ""],
  ["(c) heap bytes per idle elector (lower is better)", bytes(memory.heapBytesPerElector), goMemory ? `${bytes(goMemory.bytesPerElector)} (heap+stack)` : "missing", ratio(memory.heapBytesPerElector, goMemory?.bytesPerElector)],
  ["(c) heap bytes per idle elector without the memory store", bytes(memory.heapBytesPerElector - memory.storeBytesPerLease), goMemory ? `${bytes(goMemory.bytesPerElector)} (heap+stack)` : "missing", ratio(memory.heapBytesPerElector - memory.storeBytesPerLease, goMemory?.bytesPerElector)],
  ["(c) RSS bytes per idle elector (lower is better)", bytes(memory.rssBytesPerElector), goMemory ? bytes(goMemory.rssBytesPerElector) : "missing", ratio(memory.rssBytesPerElector, goMemory?.rssBytesPerElector)],
]);
console.log(
  "\nnotes: (b) tenure runs on a VirtualClock (timers fire at once; each costs one macrotask turn); client-go's renew loop\n" +
    "needs real timers, so it runs with RetryPeriod 1 ns and LeaseDuration/RenewDeadline 15 s/10 s so that every renew takes the\n" +
    "fast path (Update of the cached record, no Get), as tenure's does. Both count Update calls on their in-memory lock.\n" +
    "(c) tenure: V8 heapUsed delta (the leader's watch on its lease included); client-go: HeapAlloc + StackInuse delta.",
);
if (missing !== undefined) console.log(`ratios missing because the client-go peer failed: ${missing}`);
