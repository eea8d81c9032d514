/**
 * CPU time per renew of one leader on the real cluster, tenure's (tenure-renew.ts) and client-go's
 * (bench/peer-go's `lease` mode), each a process of its own talking straight to the API server
 * (no proxy), each on its own Lease, both at once with the same settings. See those two programs
 * for what is measured.
 */
import { join } from "node:path";
import type { Implementation } from "./peers.ts";
import { repoRoot, runJson } from "./process.ts";
import type { Sandbox, TestCluster } from "./kube.ts";

export interface RenewSettings {
  readonly retryPeriod: number;
  readonly renews: number;
  readonly warmup: number;
  readonly idleMs: number;
}

/** What both programs print. */
export interface RenewCost {
  readonly implementation: Implementation;
  readonly renews: number;
  readonly seconds: number;
  readonly renewsPerSecond: number;
  readonly cpuUserSeconds: number;
  readonly cpuSystemSeconds: number;
  readonly idleSeconds: number;
  readonly idleCpuSeconds: number;
  /** (user + system - idle rate x seconds) / renews, in microseconds. */
  readonly cpuMicrosPerRenew: number;
  readonly retryPeriodMs: number;
}

/** One implementation's program: its command, before the flags both take. */
const command = (implementation: Implementation, goPeer: string | undefined): readonly [string, ...string[]] => {
  if (implementation === "tenure") return [process.execPath, join(repoRoot(), ".build/bench/support/tenure-renew.js")];
  if (goPeer === undefined) throw new Error("bench/peer-go was not built");
  return [goPeer, "lease"];
};

/** Runs one implementation's leader on the Lease `renew-cost` in `box` and returns what it measured. */
export const renewCost = (
  implementation: Implementation,
  goPeer: string | undefined,
  kube: TestCluster,
  box: Sandbox,
  settings: RenewSettings,
): Promise<RenewCost> => {
  const [file, ...prefix] = command(implementation, goPeer);
  const args = [
    ...prefix,
    `--server=${kube.server}`,
    `--ca-file=${kube.caFile}`,
    `--token-file=${box.tokenFile}`,
    `--namespace=${box.namespace}`,
    "--name=renew-cost",
    `--identity=${implementation}`,
    "--lease-duration=15s",
    "--renew-deadline=10s",
    `--retry-period=${settings.retryPeriod}ms`,
    `--idle=${settings.idleMs}ms`,
    `--warmup=${settings.warmup}`,
    `--renews=${settings.renews}`,
  ];
  return runJson<RenewCost>(file, args, 15 * 60_000);
};
