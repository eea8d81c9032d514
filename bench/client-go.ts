/**
 * `npm run bench:client-go`: tenure and client-go v0.37.2 side by side on the same real cluster,
 * each as the only set of electors on its own Lease, every elector a separate process (client-go:
 * the interop peer test/interop/peer/v0.37; tenure: bench/support/tenure-peer.ts, same flags and
 * output) behind its own counting TLS proxy (certificate from the cluster's CA), so both are
 * counted and timed the same way:
 *
 *  1. requests per minute of an idle follower and of the leader, 15 s/10 s/2 s (both sets at once);
 *  2. graceful handover: SIGTERM to the leader (release on cancel) -> the successor's "started";
 *  3. crash failover: SIGKILL of the leader -> the successor's "started", and the takeover's
 *     overshoot beyond the lease's expiry (last renewTime + leaseDuration); 2. and 3. with 3 s/2 s/0.5 s;
 *  4. coordinated election (a cluster of its own with CoordinatedLeaderElection on): a candidate
 *     with an older emulation version joins -> from preferredHolder set to the joiner's "started",
 *     15 s/10 s/2 s (see support/coordinated.ts);
 *  5. CPU time per renew of a leader, less the process's idle CPU (tenure: bench/support/tenure-renew.ts;
 *     client-go: bench/peer-go's `lease` mode), both at once, retryPeriod 1 s, straight to the API server.
 *
 * Environment: BENCH_MINUTES (default 2), BENCH_HANDOVERS (20), BENCH_CRASHES (6), BENCH_COORDINATED (3),
 * BENCH_RENEWS (120); BENCH_QUICK=1 for a smoke test. With --json the last line is one JSON object with every figure.
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { DEFAULT_TIMINGS, describeTimings, positive, runLength, SHORT_TIMINGS } from "./support/config.ts";
import type { Electors } from "./support/fleet.ts";
import { buildGoPeer } from "./support/go-peer.ts";
import { sandbox, startBenchCluster } from "./support/kube.ts";
import { type Implementation, peerCommand, peerElectors } from "./support/peers.ts";
import { buildWith, repoRoot } from "./support/process.ts";
import { coordinatedHandovers } from "./support/coordinated.ts";
import { proxyCert } from "./support/proxy.ts";
import { type RenewCost, renewCost, type RenewSettings } from "./support/renew-cost.ts";
import { type CrashResult, crashFailovers, gracefulHandovers, type RateResult, requestRates } from "./support/scenarios.ts";
import { max, median, ms, num, quantile, ratio } from "./support/stats.ts";
import { heading, printTable } from "./support/table.ts";

const length = runLength({ minutes: 2, handovers: 20, crashes: 6 });
const ELECTORS = 3;
const IMPLEMENTATIONS: readonly Implementation[] = ["tenure", "client-go"];
const NO_RATES: RateResult = {
  minutes: 0,
  errors: new Map(),
  leaderChanged: false,
  leader: { id: "", perMinute: { GET: NaN, PATCH: NaN, PUT: NaN, POST: NaN, watch: NaN, other: NaN, total: NaN } },
  followers: [],
};
/**
 * retryPeriod 1 s: tenure renews at most once per second of the wall clock (renews within one
 * second are invisible to client-go's followers), so a shorter one would compare different rates.
 */
const RENEWS: RenewSettings = { retryPeriod: 1000, renews: Math.round(positive("BENCH_RENEWS", length.quick ? 20 : 120)), warmup: 30, idleMs: 5000 };
const asJson = process.argv.includes("--json");
const micros = (v: number): string => (Number.isFinite(v) ? `${num(v, 1)} µs` : "n/a");
/** A summary row: label, JSON key, tenure's value, client-go's, and how to print them. */
type Figure = readonly [string, string, number, number, (v: number) => string];

console.log(
  `tenure vs client-go benchmark${length.quick ? " (BENCH_QUICK: smoke test, not for reporting)" : ""}: node ${process.version}, ` +
    `load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ${length.minutes} min request-rate window, ` +
    `${length.handovers} handovers, ${length.crashes} crashes, ${ELECTORS} electors per set, ${RENEWS.renews} renews`,
);

let goPeer: string | undefined;
let benchPeer: string | undefined;
let missing: string | undefined;
try {
  goPeer = await buildWith(join(repoRoot(), "test/interop/build-peers.sh"), ["v0.37"]);
  console.error(`[bench] client-go peer: ${goPeer}`);
  benchPeer = await buildGoPeer();
  console.error(`[bench] client-go renew-cost peer: ${benchPeer}`);
} catch (error) {
  goPeer = undefined;
  missing = error instanceof Error ? error.message : String(error);
  console.log(`client-go peer unavailable, so only tenure's figures and no ratios: ${missing}`);
}
const implementations: readonly Implementation[] = goPeer === undefined ? ["tenure"] : IMPLEMENTATIONS;
const kube = await startBenchCluster();
try {
  const cert = await proxyCert(kube);
  const boxes = {
    tenure: await sandbox(kube, "bench-tenure"),
    "client-go": await sandbox(kube, "bench-client-go"),
  } as const;
  const electors = (implementation: Implementation): Electors =>
    peerElectors(implementation, peerCommand(implementation, goPeer), kube, cert, boxes[implementation]);

  heading(`1. requests per minute, ${ELECTORS} idle electors per set, ${describeTimings(DEFAULT_TIMINGS)}, ${length.minutes} min after settling (both sets at once)`);
  const measured = await Promise.all(
    implementations.map((impl) => requestRates(electors(impl), DEFAULT_TIMINGS, ELECTORS, length.minutes)),
  );
  const tenureRates = measured[0] as RateResult;
  const goRates: RateResult = measured[1] ?? NO_RATES;
  const rates: Record<Implementation, RateResult> = { tenure: tenureRates, "client-go": goRates };
  const breakdown = (p: Record<string, number>): string =>
    ["GET", "PATCH", "PUT", "POST", "watch"].filter((k) => (p[k] ?? 0) > 0).map((k) => `${k} ${num(p[k] ?? 0, 2)}`).join(", ") || "none";
  for (const [impl, rates] of implementations.map((impl, i) => [impl, measured[i] as RateResult] as const)) {
    const { leader, followers } = rates;
    console.log(`${impl}: leader ${num(leader.perMinute.total, 2)}/min (${breakdown(leader.perMinute)}); followers ${followers.map((f) => `${num(f.perMinute.total, 2)}/min (${breakdown(f.perMinute)})`).join("; ")}`);
    if (rates.leaderChanged) console.log(`WARNING: ${impl}'s leader changed during the window`);
  }

  heading(`2. graceful handover, ${describeTimings(SHORT_TIMINGS)}, SIGTERM with release on cancel, ${length.handovers} each`);
  const handovers: Record<Implementation, number[]> = { tenure: [], "client-go": [] };
  for (const impl of implementations) {
    handovers[impl] = [...(await gracefulHandovers(electors(impl), SHORT_TIMINGS, ELECTORS, length.handovers)).latencies];
    console.log(`${impl} (ms): ${handovers[impl].map((l) => l.toFixed(1)).join(" ")}`);
  }

  heading(`3. crash failover, ${describeTimings(SHORT_TIMINGS)}, SIGKILL of the leader, ${length.crashes} each`);
  const crashes: Record<Implementation, CrashResult> = {
    tenure: { failovers: [], overshoots: [], overlaps: 0 },
    "client-go": { failovers: [], overshoots: [], overlaps: 0 },
  };
  for (const impl of implementations) {
    crashes[impl] = await crashFailovers(electors(impl), SHORT_TIMINGS, ELECTORS, length.crashes);
    console.log(`${impl}: kill -> started (ms) ${crashes[impl].failovers.map((l) => l.toFixed(0)).join(" ")}; overshoot beyond expiry (ms) ${crashes[impl].overshoots.map((l) => l.toFixed(0)).join(" ")}`);
  }

  const rounds = Math.round(Number(process.env["BENCH_COORDINATED"] || (length.quick ? 1 : 3)));
  heading(`4. coordinated election, ${describeTimings(DEFAULT_TIMINGS)}, an older candidate joins, ${rounds} each`);
  const coordinated = await coordinatedHandovers(goPeer, implementations, DEFAULT_TIMINGS, rounds);
  for (const impl of implementations) console.log(`${impl}: preferredHolder set -> new leader started (ms) ${coordinated[impl].map((l) => l.toFixed(0)).join(" ")}`);

  heading(
    `5. CPU time per renew of one leader, 15s/10s/${RENEWS.retryPeriod / 1000}s, ${RENEWS.renews} renews after ${RENEWS.warmup}, ` +
      "less the process's idle CPU; both at once, each straight to the API server",
  );
  const costs = await Promise.all(implementations.map((impl) => renewCost(impl, benchPeer, kube, boxes[impl], RENEWS)));
  const cost: Partial<Record<Implementation, RenewCost>> = Object.fromEntries(costs.map((c) => [c.implementation, c]));
  for (const c of costs) {
    console.log(
      `${c.implementation}: ${num(c.renews)} renews in ${num(c.seconds, 1)} s (${num(c.renewsPerSecond, 1)}/s), CPU user ${num(c.cpuUserSeconds, 3)} s + ` +
        `system ${num(c.cpuSystemSeconds, 3)} s, idle ${num(c.idleCpuSeconds, 3)} s in ${num(c.idleSeconds, 1)} s: ${micros(c.cpuMicrosPerRenew)} per renew`,
    );
  }

  heading("summary (ratio = tenure / client-go; lower is better for every row)");
  const worst = (r: RateResult): number => max(r.followers.map((f) => f.perMinute.total));
  const perMin = (v: number): string => num(v, 2);
  const figures: readonly Figure[] = [
    [`idle follower requests/min (worst of ${ELECTORS - 1})`, "idleFollowerRequestsPerMinute", worst(tenureRates), worst(goRates), perMin],
    ["leader requests/min", "leaderRequestsPerMinute", tenureRates.leader.perMinute.total, goRates.leader.perMinute.total, perMin],
    [`graceful handover, median (n=${length.handovers})`, "handoverMedianMs", median(handovers.tenure), median(handovers["client-go"]), (v) => ms(v)],
    ["graceful handover, p99 (nearest rank)", "handoverP99Ms", quantile(handovers.tenure, 0.99), quantile(handovers["client-go"], 0.99), (v) => ms(v)],
    [`crash failover from the kill, median (n=${length.crashes})`, "crashFailoverMedianMs", median(crashes.tenure.failovers), median(crashes["client-go"].failovers), (v) => ms(v, 0)],
    ["crash overshoot beyond lease expiry, median", "crashOvershootMedianMs", median(crashes.tenure.overshoots), median(crashes["client-go"].overshoots), (v) => ms(v, 0)],
    ["crash overshoot beyond lease expiry, max", "crashOvershootMaxMs", max(crashes.tenure.overshoots), max(crashes["client-go"].overshoots), (v) => ms(v, 0)],
    [`coordinated: preferredHolder set -> new leader, median (n=${rounds})`, "coordinatedHandoverMedianMs", median(coordinated.tenure), median(coordinated["client-go"]), (v) => ms(v, 0)],
    [`leader CPU per renew, real cluster (n=${RENEWS.renews})`, "clusterRenewCpuMicros", cost.tenure?.cpuMicrosPerRenew ?? NaN, cost["client-go"]?.cpuMicrosPerRenew ?? NaN, micros],
  ];
  printTable(["measure", "tenure", "client-go", "ratio"], figures.map(([label, , t, g, format]) => [label, format(t), format(g), ratio(t, g)]));
  console.log(
    "\nnotes: every request each process sent is counted at its own proxy (both speak HTTP/2 to it: Node's default transport);\n" +
      "the proxy adds one loopback hop to both. A crash is a SIGKILL: no release, the lease must expire.",
  );
  if (missing !== undefined) console.log(`client-go's column and the ratios are missing because the peer could not be built: ${missing}`);
  if (asJson) {
    const side = (impl: Implementation) => ({
      requestsPerMinute: { leader: rates[impl].leader.perMinute, followers: rates[impl].followers.map((f) => f.perMinute) },
      handoverMs: handovers[impl],
      crashFailoverMs: crashes[impl].failovers,
      crashOvershootMs: crashes[impl].overshoots,
      coordinatedHandoverMs: coordinated[impl],
      renewCost: cost[impl] ?? null,
      ...Object.fromEntries(figures.map(([, key, t, g]) => [key, impl === "tenure" ? t : g])),
    });
    const ratios = Object.fromEntries(figures.map(([, key, t, g]) => [key.replace(/PerMinute$|Ms$|Micros$/, ""), t / g]));
    console.log(JSON.stringify({
      bench: "client-go",
      node: process.version,
      quick: length.quick,
      loadAverage: loadavg(),
      settings: { electors: ELECTORS, rateTimings: DEFAULT_TIMINGS, shortTimings: SHORT_TIMINGS, minutes: length.minutes, handovers: length.handovers, crashes: length.crashes, renew: RENEWS },
      tenure: side("tenure"),
      "client-go": goPeer === undefined ? null : side("client-go"),
      ratios,
      ...(missing === undefined ? {} : { missing }),
    }));
  }
} finally {
  await kube.stop();
}
