/**
 * tenure as a separate process with the client-go peer's command line and output
 * (test/interop/peer/elector.go), so that bench/client-go.ts treats both alike:
 *
 *   node .build/bench/support/tenure-peer.js --server URL --ca-file F --token-file F \
 *     --namespace NS --name LEASE --identity ID --lease-duration 15s --renew-deadline 10s \
 *     --retry-period 2s [--release-on-cancel]
 *
 * One JSON object per line on stdout: ready, new_leader, started, stopped, with mono_ns from
 * process.hrtime.bigint() (CLOCK_MONOTONIC, as the Go peer's). SIGTERM/SIGINT end the run (with
 * --release-on-cancel the Lease is released) and the process exits 0; losing leadership exits 1.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { cluster, fileTokenCredentials, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { runtime } from "../../adapters/runtime/node.ts";
import { createElector } from "../../src/index.ts";

const { values } = parseArgs({
  options: {
    server: { type: "string" },
    "ca-file": { type: "string" },
    "token-file": { type: "string" },
    namespace: { type: "string", default: "default" },
    name: { type: "string" },
    identity: { type: "string" },
    "lease-duration": { type: "string", default: "15s" },
    "renew-deadline": { type: "string", default: "10s" },
    "retry-period": { type: "string", default: "2s" },
    "release-on-cancel": { type: "boolean", default: false },
  },
});

const fail = (message: string): never => {
  process.stderr.write(`tenure-peer: ${message}\n`);
  process.exit(2);
};

/** Go durations as the peer's flags take them: 15s, 500ms, 1.5s. */
const duration = (text: string): number => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (match === null) return fail(`bad duration ${text}`);
  const unit = match[2] === "ms" ? 1 : match[2] === "s" ? 1000 : 60_000;
  return Number(match[1]) * unit;
};

const server = values.server ?? fail("--server is required");
const name = values.name ?? fail("--name is required");
const identity = values.identity ?? fail("--identity is required");
const tokenFile = values["token-file"] ?? fail("--token-file is required");
const ca = values["ca-file"] === undefined ? undefined : readFileSync(values["ca-file"], "utf8");

const emit = (event: string, extra: Record<string, string> = {}): void => {
  const line = { event, identity, ...extra, mono_ns: Number(process.hrtime.bigint()), wall: new Date().toISOString() };
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

const kube = cluster({
  server,
  fetch: runtime.tlsFetch(ca === undefined ? {} : { ca }),
  credentials: fileTokenCredentials(tokenFile, runtime.readFile),
  namespace: values.namespace,
});
const controller = new AbortController();
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => controller.abort());

const elector = createElector({
  lock: leaseLock(kube, { name }),
  identity,
  leaseDuration: duration(values["lease-duration"]),
  renewDeadline: duration(values["renew-deadline"]),
  retryPeriod: duration(values["retry-period"]),
  releaseOnCancel: values["release-on-cancel"],
  onStartedLeading: () => emit("started"),
  onStoppedLeading: () => emit("stopped"),
  onNewLeader: (leader) => emit("new_leader", { leader }),
  onError: (error) => void process.stderr.write(`tenure-peer: ${error.reason}: ${error.message}\n`),
});

emit("ready", { tenure: "0.1.0", lock: "leases" });
await elector.run(controller.signal);
process.exit(controller.signal.aborted ? 0 : 1);
