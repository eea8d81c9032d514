/**
 * `npm run bench:cluster`: tenure against a real kube-apiserver + etcd (test/cluster's harness),
 * with in-process electors on a Lease as a ServiceAccount, each with its own connection pool and a
 * fetch that counts the requests it starts (watch connections included).
 *
 *  1. requests per minute of an idle follower and of the leader, 3 electors, 15 s/10 s/2 s;
 *  2. graceful handover: abort of the leader (releaseOnCancel) to the successor's onStartedLeading;
 *  3. crash failover: the leader's network cut (no release); the takeover's overshoot beyond the
 *     lease's expiry (last renewTime + leaseDuration);
 *  4. bundle size of a minimal in-cluster election program (`default` export condition).
 *
 * The client-go comparison is bench/client-go.ts; here the figures stand next to the goals.
 * Environment: BENCH_MINUTES (default 3), BENCH_HANDOVERS (20), BENCH_CRASHES (6); BENCH_QUICK=1
 * for a smoke test (0.5 min, 5 handovers, 2 crashes).
 */
import { loadavg } from "node:os";
import { bundleSize } from "./support/bundle.ts";
import { DEFAULT_TIMINGS, describeTimings, runLength, SHORT_TIMINGS } from "./support/config.ts";
import { sandbox, startBenchCluster } from "./support/kube.ts";
import { inProcessElectors } from "./support/in-process.ts";
import { crashFailovers, gracefulHandovers, requestRates } from "./support/scenarios.ts";
import { bytes, max, median, ms, num, quantile } from "./support/stats.ts";
import { heading, printTable } from "./support/table.ts";

const length = runLength({ minutes: 3, handovers: 20, crashes: 6 });
const ELECTORS = 3;
const GOALS = { followerPerMinute: 1, handoverMedianMs: 50, crashOvershootMs: 100, bundleGzipBytes: 15 * 1024 } as const;
const verdict = (ok: boolean): string => (ok ? "meets goal" : "MISSES goal");

console.log(
  `tenure cluster benchmark${length.quick ? " (BENCH_QUICK: smoke test, not for reporting)" : ""}: node ${process.version}, ` +
    `load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ${length.minutes} min request-rate window, ` +
    `${length.handovers} handovers, ${length.crashes} crashes, ${ELECTORS} electors each`,
);

const kube = await startBenchCluster();
try {
  heading(`1. requests per minute, ${ELECTORS} idle electors on one Lease, ${describeTimings(DEFAULT_TIMINGS)}, ${length.minutes} min after settling`);
  const rates = await requestRates(inProcessElectors(kube, await sandbox(kube, "bench-rates")), DEFAULT_TIMINGS, ELECTORS, length.minutes);
  const breakdown = (p: Record<string, number>): string =>
    ["GET", "PATCH", "PUT", "POST", "watch"].filter((k) => (p[k] ?? 0) > 0).map((k) => `${k} ${num(p[k] ?? 0, 2)}`).join(", ") || "none";
  console.log(`leader ${rates.leader.id}: ${num(rates.leader.perMinute.total, 2)}/min (${breakdown(rates.leader.perMinute)})`);
  for (const f of rates.followers) console.log(`follower ${f.id}: ${num(f.perMinute.total, 2)}/min (${breakdown(f.perMinute)})`);
  if (rates.leaderChanged) console.log("WARNING: the leader changed during the window");
  for (const [text, count] of rates.errors) console.log(`onError during the window, ${count}x across the ${ELECTORS} electors: ${text}`);
  const worstFollower = max(rates.followers.map((f) => f.perMinute.total));

  heading(`2. graceful handover, ${describeTimings(SHORT_TIMINGS)}, releaseOnCancel, ${length.handovers} handovers`);
  const handovers = await gracefulHandovers(inProcessElectors(kube, await sandbox(kube, "bench-handover")), SHORT_TIMINGS, ELECTORS, length.handovers);
  console.log(`abort -> successor's onStartedLeading (ms): ${handovers.latencies.map((l) => l.toFixed(1)).join(" ")}`);

  heading(`3. crash failover, ${describeTimings(SHORT_TIMINGS)}, leader's network cut (no release), ${length.crashes} crashes`);
  const crashes = await crashFailovers(inProcessElectors(kube, await sandbox(kube, "bench-crash")), SHORT_TIMINGS, ELECTORS, length.crashes);
  console.log(`cut -> successor's onStartedLeading (ms): ${crashes.failovers.map((l) => l.toFixed(0)).join(" ")}`);
  console.log(`overshoot beyond last renewTime + leaseDuration (ms): ${crashes.overshoots.map((l) => l.toFixed(1)).join(" ")}`);
  console.log(`takeovers before the old leader's signal was aborted: ${crashes.overlaps} (must be 0)`);

  heading("4. bundle: minimal in-cluster Lease election program, esbuild --bundle --minify, platform neutral, `default` condition only");
  const bundle = await bundleSize();
  console.log(`entries: tenure -> ${bundle.entries.core}, tenure/kubernetes -> ${bundle.entries.kubernetes}`);
  console.log(`minified ${bytes(bundle.minified)}, gzip -9 ${bytes(bundle.gzipped)} (${num(bundle.gzipped)} B)`);
  console.log(`largest parts (minified): ${bundle.contributors.slice(0, 6).map(([k, v]) => `${k} ${bytes(v)}`).join(", ")}`);

  heading("summary");
  const handoverMedian = median(handovers.latencies);
  const overshootMedian = median(crashes.overshoots);
  printTable(["measure", "tenure", "goal", ""], [
    ["idle follower, requests/min (worst of " + rates.followers.length + ")", num(worstFollower, 2), `<= ${GOALS.followerPerMinute}`, verdict(worstFollower <= GOALS.followerPerMinute)],
    ["leader, requests/min", num(rates.leader.perMinute.total, 2), "", ""],
    [`graceful handover, median (n=${handovers.latencies.length})`, ms(handoverMedian), `< ${GOALS.handoverMedianMs} ms`, verdict(handoverMedian < GOALS.handoverMedianMs)],
    [`graceful handover, p99 (nearest rank)`, ms(quantile(handovers.latencies, 0.99)), "", ""],
    [`crash: failover from the cut, median (n=${crashes.failovers.length})`, ms(median(crashes.failovers), 0), "", ""],
    [`crash: overshoot beyond lease expiry, median`, ms(overshootMedian), `< ${GOALS.crashOvershootMs} ms`, verdict(overshootMedian < GOALS.crashOvershootMs)],
    [`crash: overshoot beyond lease expiry, max`, ms(max(crashes.overshoots)), `< ${GOALS.crashOvershootMs} ms`, verdict(max(crashes.overshoots) < GOALS.crashOvershootMs)],
    ["bundle, minified + gzip", bytes(bundle.gzipped), "< 15 KiB", verdict(bundle.gzipped < GOALS.bundleGzipBytes)],
  ]);
  console.log("\nclient-go's figures for the same measurements: npm run bench:client-go");
} finally {
  await kube.stop();
}
