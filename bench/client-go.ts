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
 *     15 s/10 s/2 s (see support/coordinated.ts).
 *
 * Environment: BENCH_MINUTES (default 2), BENCH_HANDOVERS (20), BENCH_CRASHES (6), BENCH_COORDINATED (3); BENCH_QUICK=1
 * for a smoke test.
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { DEFAULT_TIMINGS, describeTimings, runLength, SHORT_TIMINGS, type Timings } from "./support/config.ts";
import { sandbox, startBenchCluster } from "./support/kube.ts";
import { peerCrashes, peerHandovers, type PeerRates, peerRequestRates, type Spawner } from "./support/peer-scenarios.ts";
import { type Implementation, peerCommand, spawnPeer } from "./support/peers.ts";
import { buildWith, repoRoot } from "./support/process.ts";
import { coordinatedHandovers } from "./support/coordinated.ts";
import { proxyCert } from "./support/proxy.ts";
import { max, median, ms, num, quantile, ratio } from "./support/stats.ts";
import { heading, printTable } from "./support/table.ts";

const length = runLength({ minutes: 2, handovers: 20, crashes: 6 });
const ELECTORS = 3;
const IMPLEMENTATIONS: readonly Implementation[] = ["tenure", "client-go"];
const NO_RATES: PeerRates = {
  minutes: 0,
  leaderChanged: false,
  leader: { GET: NaN, PUT: NaN, POST: NaN, watch: NaN, other: NaN, total: NaN },
  followers: [],
};

console.log(
  `tenure vs client-go benchmark${length.quick ? " (BENCH_QUICK: smoke test, not for reporting)" : ""}: node ${process.version}, ` +
    `load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ${length.minutes} min request-rate window, ` +
    `${length.handovers} handovers, ${length.crashes} crashes, ${ELECTORS} electors per set`,
);

let goPeer: string | undefined;
let missing: string | undefined;
try {
  goPeer = await buildWith(join(repoRoot(), "test/interop/build-peers.sh"), ["v0.37"]);
  console.error(`[bench] client-go peer: ${goPeer}`);
} catch (error) {
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
  const spawner = (implementation: Implementation): Spawner => {
    const command = peerCommand(implementation, goPeer);
    return (lease: string, timings: Timings, releaseOnCancel: boolean) => (id: string) =>
      spawnPeer(command, kube, cert, boxes[implementation], lease, id, timings, releaseOnCancel);
  };

  heading(`1. requests per minute, ${ELECTORS} idle electors per set, ${describeTimings(DEFAULT_TIMINGS)}, ${length.minutes} min after settling (both sets at once)`);
  const measured = await Promise.all(
    implementations.map((impl) => peerRequestRates(impl, spawner(impl), DEFAULT_TIMINGS, ELECTORS, length.minutes)),
  );
  const tenureRates = measured[0] as PeerRates;
  const goRates: PeerRates = measured[1] ?? NO_RATES;
  const breakdown = (p: Record<string, number>): string =>
    ["GET", "PUT", "POST", "watch"].filter((k) => (p[k] ?? 0) > 0).map((k) => `${k} ${num(p[k] ?? 0, 2)}`).join(", ") || "none";
  for (const [impl, rates] of implementations.map((impl, i) => [impl, measured[i] as PeerRates] as const)) {
    console.log(`${impl}: leader ${num(rates.leader.total, 2)}/min (${breakdown(rates.leader)}); followers ${rates.followers.map((f) => `${num(f.total, 2)}/min (${breakdown(f)})`).join("; ")}`);
    if (rates.leaderChanged) console.log(`WARNING: ${impl}'s leader changed during the window`);
  }

  heading(`2. graceful handover, ${describeTimings(SHORT_TIMINGS)}, SIGTERM with release on cancel, ${length.handovers} each`);
  const handovers: Record<Implementation, number[]> = { tenure: [], "client-go": [] };
  for (const impl of implementations) {
    handovers[impl] = await peerHandovers(impl, spawner(impl), SHORT_TIMINGS, ELECTORS, length.handovers);
    console.log(`${impl} (ms): ${handovers[impl].map((l) => l.toFixed(1)).join(" ")}`);
  }

  heading(`3. crash failover, ${describeTimings(SHORT_TIMINGS)}, SIGKILL of the leader, ${length.crashes} each`);
  const crashes: Record<Implementation, { failovers: readonly number[]; overshoots: readonly number[] }> = {
    tenure: { failovers: [], overshoots: [] },
    "client-go": { failovers: [], overshoots: [] },
  };
  for (const impl of implementations) {
    crashes[impl] = await peerCrashes(impl, spawner(impl), kube, boxes[impl], SHORT_TIMINGS, ELECTORS, length.crashes);
    console.log(`${impl}: kill -> started (ms) ${crashes[impl].failovers.map((l) => l.toFixed(0)).join(" ")}; overshoot beyond expiry (ms) ${crashes[impl].overshoots.map((l) => l.toFixed(0)).join(" ")}`);
  }

  const rounds = Math.round(Number(process.env["BENCH_COORDINATED"] || (length.quick ? 1 : 3)));
  heading(`4. coordinated election, ${describeTimings(DEFAULT_TIMINGS)}, an older candidate joins, ${rounds} each`);
  const coordinated = await coordinatedHandovers(goPeer, implementations, DEFAULT_TIMINGS, rounds);
  for (const impl of implementations) console.log(`${impl}: preferredHolder set -> new leader started (ms) ${coordinated[impl].map((l) => l.toFixed(0)).join(" ")}`);

  heading("summary (ratio = tenure / client-go; lower is better for every row)");
  const worst = (r: PeerRates): number => max(r.followers.map((f) => f.total));
  const row = (label: string, t: number, g: number, format: (v: number) => string): readonly string[] => [label, format(t), format(g), ratio(t, g)];
  const perMin = (v: number): string => num(v, 2);
  printTable(["measure", "tenure", "client-go", "ratio"], [
    row(`idle follower requests/min (worst of ${ELECTORS - 1})`, worst(tenureRates), worst(goRates), perMin),
    row("leader requests/min", tenureRates.leader.total, goRates.leader.total, perMin),
    row(`graceful handover, median (n=${length.handovers})`, median(handovers.tenure), median(handovers["client-go"]), (v) => ms(v)),
    row("graceful handover, p99 (nearest rank)", quantile(handovers.tenure, 0.99), quantile(handovers["client-go"], 0.99), (v) => ms(v)),
    row(`crash failover from the kill, median (n=${length.crashes})`, median(crashes.tenure.failovers), median(crashes["client-go"].failovers), (v) => ms(v, 0)),
    row("crash overshoot beyond lease expiry, median", median(crashes.tenure.overshoots), median(crashes["client-go"].overshoots), (v) => ms(v, 0)),
    row("crash overshoot beyond lease expiry, max", max(crashes.tenure.overshoots), max(crashes["client-go"].overshoots), (v) => ms(v, 0)),
    row(`coordinated: preferredHolder set -> new leader, median (n=${rounds})`, median(coordinated.tenure), median(coordinated["client-go"]), (v) => ms(v, 0)),
  ]);
  console.log(
    "\nnotes: every request each process sent is counted at its own proxy (client-go speaks HTTP/2 to it, tenure HTTP/1.1);\n" +
      "the proxy adds one loopback hop to both. A crash is a SIGKILL: no release, the lease must expire.",
  );
  if (missing !== undefined) console.log(`client-go's column and the ratios are missing because the peer could not be built: ${missing}`);
} finally {
  await kube.stop();
}
