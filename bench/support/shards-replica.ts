/**
 * tenure's side of bench/shards.ts: one replica process of a sharded election (createShards over
 * one shared list + watch), with the same flags and output as the client-go peer
 * (bench/peer-shards-go):
 *
 *   {"event":"ready","identity":"a","heap_bytes":123}   (the heap before the election starts)
 *   {"event":"started","lease":"bench.shards.007-of-1000"}
 *   {"event":"stopped","lease":"bench.shards.007-of-1000"}
 *   {"event":"stats","requests":{"held":1,"followed":0,"other":2},"methods":{"PUT":1},"heap_bytes":123}
 *
 * Requests are counted at the fetch it is given (every request the process sends), classed as for
 * a lease it leads at that moment ("held"), another lease of the set ("followed"), or neither
 * (the shared list and watch: "other"). Stats on SIGUSR2; run with --expose-gc: the heap is
 * measured after a GC.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { cluster, type Fetch, fileTokenCredentials, leaseCollection } from "../../adapters/kubernetes/entry-node.ts";
import { bucketNames, createShards, type Shards, watchLeases } from "../../src/shards/index.ts";
import { http2Runtime } from "../../adapters/runtime/node.ts";

const { values } = parseArgs({
  options: {
    server: { type: "string" },
    "ca-file": { type: "string" },
    "token-file": { type: "string" },
    namespace: { type: "string", default: "default" },
    component: { type: "string", default: "bench" },
    queue: { type: "string", default: "shards" },
    leases: { type: "string", default: "1000" },
    identity: { type: "string" },
    "max-held": { type: "string" },
    "lease-duration": { type: "string", default: "15000" },
    "renew-deadline": { type: "string", default: "10000" },
    "retry-period": { type: "string", default: "2000" },
  },
});
if (values.server === undefined || values.identity === undefined) {
  console.error("shards-replica: --server and --identity are required");
  process.exit(2);
}

const emit = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);
const names = bucketNames(values.component, values.queue, Number(values.leases));
const collection = `/apis/coordination.k8s.io/v1/namespaces/${values.namespace}/leases`;
const sent = { held: 0, followed: 0, other: 0 };
const methods: Record<string, number> = {};
let shards: Shards | undefined;
const leading = new Set<string>();

// tenure's HTTP/2 transport (what `http2: true` gives; the default too, less its HTTP/1.1
// fallback), counted: the watch and every lease's requests are streams on one connection, served
// concurrently. (HTTP/1.1, `http2: false`, needs a connection per request in flight.)
const ca = values["ca-file"] === undefined ? undefined : readFileSync(values["ca-file"], "utf8");
const transport = http2Runtime.tlsFetch(ca === undefined ? {} : { ca });
const fetch: Fetch = (url, init) => {
  const path = new URL(url).pathname;
  const lease = path.startsWith(`${collection}/`)
    ? decodeURIComponent(path.slice(collection.length + 1))
    : init.method === "POST"
    ? (JSON.parse(String(init.body)) as { metadata: { name: string } }).metadata.name
    : undefined;
  sent[lease === undefined ? "other" : leading.has(lease) ? "held" : "followed"]++;
  methods[init.method ?? "GET"] = (methods[init.method ?? "GET"] ?? 0) + 1;
  return transport(url, init);
};
const tokenFile = values["token-file"];
const api = cluster({
  server: values.server,
  fetch,
  namespace: values.namespace,
  ...(tokenFile === undefined ? {} : { credentials: fileTokenCredentials(tokenFile, (path) => readFile(path, "utf8")) }),
  warn: (message) => console.error(message),
});

const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());
process.once("SIGINT", () => stop.abort());
shards = createShards({
  leases: watchLeases(leaseCollection(api, { labels: { "tenure.dev/bench": `${values.component}.${values.queue}` } }), {
    onError: (error) => console.error(`shared watch: ${error.message}`),
  }),
  names,
  ...(values["max-held"] === undefined ? {} : { maxHeld: Number(values["max-held"]) }),
  identity: values.identity,
  leaseDuration: Number(values["lease-duration"]),
  renewDeadline: Number(values["renew-deadline"]),
  retryPeriod: Number(values["retry-period"]),
  onStartedLeading: (lease) => {
    leading.add(lease);
    emit({ event: "started", lease });
  },
  onStoppedLeading: (lease) => {
    leading.delete(lease);
    emit({ event: "stopped", lease });
  },
  onError: (error) => console.error(error.message),
});
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
emit({ event: "ready", identity: values.identity, heap_bytes: process.memoryUsage().heapUsed });

// Stats when asked (SIGUSR2), so that the GC before measuring the heap is not part of the CPU measured.
const report = (): void => {
  gc?.();
  emit({ event: "stats", requests: { ...sent }, methods: { ...methods }, heap_bytes: process.memoryUsage().heapUsed });
};
process.on("SIGUSR2", report);
try {
  await shards.run(stop.signal);
} finally {
  process.off("SIGUSR2", report);
}
