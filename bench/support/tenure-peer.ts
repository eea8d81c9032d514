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
import { parseArgs } from "node:util";
import { cluster, fileTokenCredentials, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { runtime } from "../../adapters/runtime/node.ts";
import { createElector } from "../../src/index.ts";
import { connection, failing, goDuration, PEER_FLAGS } from "./peer-flags.ts";

const { values } = parseArgs({
  options: {
    ...PEER_FLAGS,
    identity: { type: "string" },
    "retry-period": { type: "string", default: "2s" },
    "release-on-cancel": { type: "boolean", default: false },
  },
});

const fail = failing("tenure-peer", 2);
const duration = (text: string): number => goDuration(text, fail);
const { server, name, tokenFile, ca } = connection(values, fail);
const identity = values.identity ?? fail("--identity is required");

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
