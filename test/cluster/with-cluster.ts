/**
 * Runs a command against a fresh test cluster:
 *
 *     node .build/test/cluster/with-cluster.js -- node --test .build/test/e2e
 *
 * The command gets `TENURE_CLUSTER=<cluster.json>` (see `connect.ts`) and our stdio; the cluster is
 * stopped afterwards and we exit with the command's exit code.
 *
 * @module
 */

import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { startCluster } from "./cluster.ts";

const separator = process.argv.indexOf("--");
const command = separator === -1 ? [] : process.argv.slice(separator + 1);
const [file, ...args] = command;
if (file === undefined) {
  process.stderr.write("usage: with-cluster -- <command> [args...]\n");
  process.exit(2);
}

let child: ChildProcess | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    // Before the command runs there is nothing to wait for: exiting runs the cluster's exit hook.
    if (child === undefined) process.exit(128 + constants.signals[signal]);
    child.kill(signal);
  });
}

const started = performance.now();
const cluster = await startCluster({ handleSignals: false });
process.stderr.write(`[cluster] ready in ${((performance.now() - started) / 1000).toFixed(1)} s at ${cluster.server}\n`);

child = spawn(file, args, { stdio: "inherit", env: { ...process.env, TENURE_CLUSTER: cluster.infoFile } });
const code = await new Promise<number>((resolve) => {
  child?.once("error", (error) => {
    process.stderr.write(`[cluster] could not run ${file}: ${error.message}\n`);
    resolve(127);
  });
  child?.once("exit", (status, signal) => resolve(status ?? 128 + (signal === null ? 0 : constants.signals[signal])));
});
await cluster.stop();
process.exit(code);
