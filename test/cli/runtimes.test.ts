/**
 * The command as users get it: from the packed npm package (`npx tenure`, `bun x --bun tenure`,
 * `deno run -A npm:tenure`) and as single-file executables (`bun build --compile`; `deno compile`
 * only when DENORT_BIN names a local denort, because deno compile downloads its base binary from
 * Deno's own host, which this machine cannot reach). Each runs a subset of the cluster tests: a
 * child that exits ends the term and releases, SIGKILL of the leading tenure leaves no child
 * (not for npx, where npm's process stands between), and status. Prints size, start-up time and the
 * memory of a leading `tenure run`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { cliSandbox, eventually, FAST, gone, killAll, leaseSpec, RECORD_CHILD, tenure } from "./support.ts";

after(killAll);

const root = fileURLToPath(new URL("../../..", import.meta.url));
const bin = (name: string): string => join(root, "node_modules", ".bin", name);
const work = mkdtempSync(join(tmpdir(), "tenure-cli-pkg-"));

interface Launcher {
  readonly name: string;
  readonly command: readonly string[];
  /** Its own file, for the size (executables). */
  readonly file?: string;
  /** Whether SIGKILL of the started process kills tenure itself (not npm's wrapper). */
  readonly direct: boolean;
}

const launchers: Launcher[] = [];
const skipped: string[] = [];

before(() => {
  // dist/ afresh, packed as npm publishes it, installed into a project from the tarball.
  let t0 = performance.now();
  const lap = (what: string): void => {
    console.log(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    t0 = performance.now();
  };
  const built = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, encoding: "utf8" });
  assert.equal(built.status, 0, built.stderr);
  lap("npm run build");
  const packed = spawnSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", work], { cwd: root, encoding: "utf8" });
  assert.equal(packed.status, 0, packed.stderr);
  const tarball = join(work, packed.stdout.trim().split("\n").at(-1) as string);
  writeFileSync(join(work, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  const installed = spawnSync("npm", ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", tarball], { cwd: work, encoding: "utf8" });
  assert.equal(installed.status, 0, installed.stderr);
  lap("npm pack + npm install of the tarball");
  launchers.push(
    // What npx runs, without npm's start-up in front (the start-up time of Node itself).
    { name: "node (the bin npx runs)", command: [process.execPath, join(work, "node_modules", "tenure", "dist", "cli", "main.js")], direct: true },
    { name: "npx tenure", command: ["npx", "--no-install", "tenure"], direct: false },
    // --bun: without it bun x honours the #!/usr/bin/env node line and runs Node.
    { name: "bun x --bun tenure", command: [bin("bun"), "x", "--bun", "tenure"], direct: true },
    { name: "deno run -A npm:tenure", command: [bin("deno"), "run", "-A", "npm:tenure"], direct: true },
  );
  const started = performance.now();
  t0 = started;
  const bunExe = join(work, "tenure-bun");
  const compiled = spawnSync(bin("bun"), ["build", "--compile", join(root, "cli", "main.ts"), "--outfile", bunExe], { encoding: "utf8" });
  assert.equal(compiled.status, 0, compiled.stderr);
  console.log(`bun build --compile: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  launchers.push({ name: "bun build --compile", command: [bunExe], file: bunExe, direct: true });
  const denort = process.env["DENORT_BIN"];
  if (denort !== undefined && existsSync(denort)) {
    const denoExe = join(work, "tenure-deno");
    const t0 = performance.now();
    const built = spawnSync(bin("deno"), ["compile", "-A", "--no-check", "--output", denoExe, join(root, "cli", "main.ts")], { encoding: "utf8" });
    assert.equal(built.status, 0, built.stderr);
    console.log(`deno compile: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    launchers.push({ name: "deno compile", command: [denoExe], file: denoExe, direct: true });
  } else {
    skipped.push("deno compile: skipped, DENORT_BIN is not set: deno compile downloads its denort base binary from Deno's download host, which this machine cannot reach, and no package registry here carries denort. Set DENORT_BIN to a local denort to include it.");
  }
  for (const line of skipped) console.log(line);
});

const measure = (launcher: Launcher): string => {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const result = spawnSync(launcher.command[0] as string, [...launcher.command.slice(1), "--version"], { cwd: work, encoding: "utf8" });
    times.push(performance.now() - t0);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^tenure \d/);
  }
  const size = launcher.file === undefined ? "" : `, ${(statSync(launcher.file).size / 1e6).toFixed(1)} MB`;
  return `start-up (tenure --version) median ${times.sort((a, b) => a - b)[1]?.toFixed(0)} ms${size}`;
};

/** A field of /proc/PID/status. */
const procStatus = (pid: number, field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);

describe("the tenure command as users get it", () => {
  // One `it` per launcher, listed before the launchers exist: node:test collects them first.
  for (const name of ["node (the bin npx runs)", "npx tenure", "bun x --bun tenure", "deno run -A npm:tenure", "bun build --compile", "deno compile"]) {
    it(name, async (t) => {
      const launcher = launchers.find((l) => l.name === name);
      if (launcher === undefined) return t.skip(skipped.find((s) => s.startsWith(name)) ?? "not built");
      const how = { command: launcher.command, cwd: work };
      console.log(`${name}: ${measure(launcher)}`);

      const box = await cliSandbox("cli-pkg");
      const kubeconfig = box.kubeconfig();
      const record = join(box.dir, "record");
      const run = (identity: string, env: Record<string, string>) =>
        tenure(["run", "--lease", "job", "--identity", identity, "--kubeconfig", kubeconfig, ...FAST, "--", RECORD_CHILD], { RECORD: record, ...env }, [], how);

      // A child that exits ends the term, releases, and its status is tenure's.
      const once = run("once", { CHILD_EXIT_AFTER: "3", CHILD_EXIT_CODE: "7" });
      assert.deepEqual(await once.exited, { code: 7, signal: null }, once.stderr());
      assert.equal((await leaseSpec(box.namespace, "job"))?.holderIdentity ?? "", "");

      // status reads what the API server holds.
      const status = tenure(["status", "job", "--kubeconfig", kubeconfig, "-o", "json"], {}, [], how);
      assert.equal((await status.exited).code, 0, status.stderr());
      assert.equal(JSON.parse(status.stdout()).holder, "");

      if (!launcher.direct) return;
      // SIGKILL of the leading tenure: no child left running. Its memory first, while it leads.
      const leader = run("killed", {});
      const child = { pid: Number((await leader.waitFor(/started .* \(pid (\d+)\)/))[1]) };
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // The child's parent is tenure itself, whatever wrapper (bun x) started it.
      const tenurePid = procStatus(child.pid, "PPid");
      console.log(`${name}: a leading tenure run uses ${(procStatus(tenurePid, "VmRSS") / 1024).toFixed(1)} MB RSS`);
      process.kill(tenurePid, "SIGKILL");
      assert.ok(await eventually(() => gone(child.pid), 2_000), `${name}: the child of a SIGKILLed tenure still runs 2 s later`);

      // SIGTERM: forwarded to the child, which stops; tenure releases the Lease and exits.
      const termed = run("termed", {});
      const next = Number((await termed.waitFor(/started .* \(pid (\d+)\)/))[1]);
      const termedPid = procStatus(next, "PPid");
      process.kill(termedPid, "SIGTERM");
      assert.ok(await eventually(() => gone(next) && gone(termedPid), 10_000), `${name}: SIGTERM did not end the child and tenure:\n${termed.stderr()}`);
      assert.equal((await leaseSpec(box.namespace, "job"))?.holderIdentity ?? "", "", `${name}: not released after SIGTERM`);
    });
  }
});
