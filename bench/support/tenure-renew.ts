/**
 * tenure's side of the CPU time per renew on a real cluster (bench/client-go.ts), with the command
 * line and the output of the Go peer's `lease` mode (bench/peer-go/lease.go):
 *
 *   node .build/bench/support/tenure-renew.js --server URL --ca-file F --token-file F \
 *     --namespace NS --name LEASE [--retry-period 1s] [--idle 5s] [--warmup 30] [--renews 120]
 *
 * The process first idles with its client built (after 2 s for start-up to end), to measure what
 * it costs doing nothing; then it leads, and after the warm-up renewals it measures its own CPU
 * time (process.cpuUsage: user + system) over the next --renews successful renewals (PATCHes of the
 * Lease, or PUTs where the Role allows no patch). The cost per renew is that CPU time, less the idle
 * rate over the same span, divided by the renewals: the driver and protocol, encoding, the HTTP/1.1
 * request over TLS, decoding the answer, and the watch event each renewal echoes back to the
 * leader. One JSON object on stdout.
 */
import { parseArgs } from "node:util";
import { type Fetch, cluster, fileTokenCredentials, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { http1Runtime, runtime } from "../../adapters/runtime/node.ts";
import { createElector } from "../../src/index.ts";
import { connection, failing, goDuration, PEER_FLAGS } from "./peer-flags.ts";

const { values } = parseArgs({
  options: {
    ...PEER_FLAGS,
    identity: { type: "string", default: "bench" },
    "retry-period": { type: "string", default: "1s" },
    idle: { type: "string", default: "5s" },
    warmup: { type: "string", default: "30" },
    renews: { type: "string", default: "120" },
  },
});

const fail = failing("tenure-renew", 1);
const duration = (text: string): number => goDuration(text, fail);

const count = (text: string): number => {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fail(`not a positive whole number: ${text}`);
};

const { server, name, tokenFile, ca } = connection(values, fail);
const leaseDuration = duration(values["lease-duration"]);
const renewDeadline = duration(values["renew-deadline"]);
const retryPeriod = duration(values["retry-period"]);
const warmup = count(values.warmup);
const renews = count(values.renews);

/** Successful renewals so far, and a promise for when they reach a target (nothing polls). */
let updates = 0;
let target = Infinity;
let reached: () => void = () => {};
// Node's default transport (HTTP/2 here); TENURE_BENCH_HTTP1=1: HTTP/1.1 through undici (`http2: false`).
const base = (process.env["TENURE_BENCH_HTTP1"] === "1" ? http1Runtime : runtime).tlsFetch(ca === undefined ? {} : { ca });
const counting: Fetch = async (url, init) => {
  const response = await base(url, init);
  if ((init.method === "PATCH" || init.method === "PUT") && response.ok && ++updates === target) reached();
  return response;
};
const renewals = (n: number, limit: number): Promise<number> => {
  const start = updates;
  target = start + n;
  return new Promise((resolve) => {
    const timer = setTimeout(() => fail(`only ${updates - start} of ${n} renewals within ${limit} ms`), limit);
    reached = () => {
      clearTimeout(timer);
      resolve(updates - start);
    };
  });
};

const cpuSeconds = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const kube = cluster({ server, fetch: counting, credentials: fileTokenCredentials(tokenFile, runtime.readFile), namespace: values.namespace });

// Start-up work (compiling, collecting) goes on for a moment after the last import: not idle.
await sleep(2000);
const idleFrom = process.cpuUsage();
const idleStart = performance.now();
await sleep(duration(values.idle));
const idleCpu = cpuSeconds(process.cpuUsage(idleFrom));
const idleSeconds = (performance.now() - idleStart) / 1000;

const controller = new AbortController();
let leading: () => void = () => {};
const led = new Promise<void>((resolve) => (leading = resolve));
const elector = createElector({
  lock: leaseLock(kube, { name }),
  identity: values.identity,
  leaseDuration,
  renewDeadline,
  retryPeriod,
  onStartedLeading: () => leading(),
  onStoppedLeading: () => {},
  onError: (error) => void process.stderr.write(`tenure-renew: ${error.reason}: ${error.message}\n`),
});
const done = elector.run(controller.signal);
const notLeading = setTimeout(() => fail("not leading after 30 s"), 30_000);
await led;
clearTimeout(notLeading);
const limit = (renews + warmup) * retryPeriod * 3 + 60_000;
await renewals(warmup, limit);

const from = process.cpuUsage();
const start = performance.now();
const n = await renewals(renews, limit);
const used = process.cpuUsage(from);
const seconds = (performance.now() - start) / 1000;
controller.abort();
await done;

const user = used.user / 1e6;
const system = used.system / 1e6;
process.stdout.write(
  `${JSON.stringify({
    mode: "lease",
    implementation: "tenure",
    renews: n,
    seconds,
    renewsPerSecond: n / seconds,
    cpuUserSeconds: user,
    cpuSystemSeconds: system,
    idleSeconds,
    idleCpuSeconds: idleCpu,
    cpuMicrosPerRenew: ((user + system - (idleCpu / idleSeconds) * seconds) / n) * 1e6,
    retryPeriodMs: retryPeriod,
    leaseDurationSeconds: leaseDuration / 1000,
    renewDeadlineSeconds: renewDeadline / 1000,
    node: process.version,
  })}\n`,
);
process.exit(0);
