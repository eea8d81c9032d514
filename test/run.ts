/**
 * The whole test suite, in stages: `node .build/test/run.js [stage...]` (default: all).
 * Stages that need the real cluster share one, started once (its first build takes minutes and
 * says so). Every stage runs even when an earlier one failed; the summary says which failed.
 */
import { spawn } from "node:child_process";
import { startCluster } from "./cluster/cluster.ts";
import type { TestCluster } from "./cluster/client.ts";

interface Stage {
  readonly name: string;
  readonly about: string;
  readonly cluster: boolean;
  readonly command: readonly string[];
}

const node = process.execPath;
/** One runtime of the matrix (test/runtimes/matrix.ts): its unit suite, in-cluster election, example and (Node 22, Deno, Bun) mixed client-go fleet. */
const matrix = (runtime: string): readonly string[] => [node, ".build/test/runtimes/matrix.js", runtime];
const STAGES: readonly Stage[] = [
  { name: "unit", about: "pure core, driver, memory lock, codecs (Node 20)", cluster: false, command: [node, "--test", ".build/test/src", ".build/test/adapters", ".build/test/chaos/acts.test.js"] },
  { name: "package", about: "npm pack contents, no Node in the default condition, publint, attw, deno publish --dry-run", cluster: false, command: [node, "--test", ".build/test/runtimes/package.test.js"] },
  { name: "size", about: "bundle sizes (esbuild, minified, gzip): core < 8.5 KB, in-cluster program < 19.5 KB", cluster: false, command: [node, ".build/bench/size.js"] },
  { name: "e2e", about: "Kubernetes adapter against kube-apiserver + etcd", cluster: true, command: [node, "--test", ".build/test/e2e"] },
  { name: "node20", about: "in-cluster election and examples/node on Node 20, the machine's (its unit suite is `unit`)", cluster: true, command: matrix("node20") },
  { name: "node22", about: "unit suite, in-cluster election, examples/node, the mixed client-go fleet on Node 22 (npm)", cluster: true, command: matrix("node22") },
  { name: "node24", about: "unit suite, in-cluster election, examples/node on Node 24 (npm)", cluster: true, command: matrix("node24") },
  { name: "deno", about: "unit suite, in-cluster election (npm and JSR entries), examples/deno, the mixed client-go fleet on Deno (npm)", cluster: true, command: matrix("deno") },
  { name: "bun", about: "unit suite, in-cluster election, examples/bun, the mixed client-go fleet on Bun (npm)", cluster: true, command: matrix("bun") },
  { name: "cli", about: "the tenure command: run (child supervision, SIGKILL safety, network cut), serve/--http, metrics (promtool), status", cluster: true, command: [node, "--test", ".build/test/cli"] },
  { name: "interop", about: "tenure and client-go's own elector on the same locks", cluster: true, command: [node, "--test", ".build/test/interop"] },
  // Its own cluster (bench/support/kube.ts starts one), so `cluster: false` here.
  { name: "shards", about: "sharded election at CI size: 3 replica processes share 60 Leases on the real API server; no request for a followed lease, <= 4 connections, SIGKILL recovery (npm run bench:shards -- --ci)", cluster: false, command: [node, ".build/bench/shards.js", "--ci"] },
  { name: "edge", about: "the packed package's default condition electing from workerd (Durable Objects) and edge-runtime, with Node, on one Lease", cluster: true, command: [node, "--test", ".build/test/edge"] },
  // Its own cluster (it kills and restarts kube-apiserver and etcd), so `cluster: false` here.
  { name: "chaos", about: "tenure (Node, Deno, Bun) and client-go v0.37 fleets under TCP, HTTP, process and server faults; the latency and bandwidth ramps", cluster: false, command: [node, ".build/test/chaos/main.js"] },
];

const wanted = process.argv.slice(2).filter((a) => a !== "all");
const unknown = wanted.filter((w) => !STAGES.some((s) => s.name === w));
if (unknown.length > 0) {
  console.error(`unknown stage ${unknown.join(", ")}; stages: ${STAGES.map((s) => s.name).join(", ")}, all`);
  process.exit(2);
}
const stages = STAGES.filter((s) => wanted.length === 0 || wanted.includes(s.name));

const run = (command: readonly string[], env: NodeJS.ProcessEnv): Promise<number> =>
  new Promise((resolve) => {
    const [file, ...args] = command as [string, ...string[]];
    const child = spawn(file, args, { stdio: "inherit", env });
    child.once("error", (error) => {
      console.error(`could not run ${file}: ${error.message}`);
      resolve(127);
    });
    child.once("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });

let cluster: TestCluster | undefined;
const results: { name: string; ok: boolean; seconds: number }[] = [];
try {
  for (const stage of stages) {
    console.log(`\n━━ ${stage.name}: ${stage.about}`);
    const started = performance.now();
    if (stage.cluster && cluster === undefined) {
      cluster = await startCluster();
      console.log(`[cluster] ready in ${((performance.now() - started) / 1000).toFixed(1)} s at ${cluster.server}`);
    }
    const env = { ...process.env, ...(cluster === undefined ? {} : { TENURE_CLUSTER: cluster.infoFile }) };
    const code = await run(stage.command, env);
    results.push({ name: stage.name, ok: code === 0, seconds: (performance.now() - started) / 1000 });
  }
} finally {
  await cluster?.stop();
}

console.log("\n━━ summary");
for (const r of results) console.log(`  ${r.ok ? "✓" : "✗"} ${r.name.padEnd(12)} ${r.seconds.toFixed(1).padStart(6)} s`);
const failed = results.filter((r) => !r.ok);
if (failed.length > 0) console.log(`\n${failed.length} stage(s) failed: ${failed.map((r) => r.name).join(", ")}`);
process.exit(failed.length === 0 ? 0 : 1);
