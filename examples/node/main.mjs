// One replica of a controller that must act once per cluster: run three (see the Deployment in
// the README) and one of them leads. Node 20.18.1 or later:  npm install tenure && node main.mjs
import { hostname } from "node:os";
import { createElector } from "tenure";
import { inCluster, leaseLock } from "tenure/kubernetes";

// The pod's name is its hostname; the token, CA and namespace come from the service account.
// TENURE_SERVICE_ACCOUNT_DIR moves that folder (tests); LEASE_NAME renames the Lease.
// A restarted container keeps its pod's name: tenure then waits for the lease the old process
// wrote to expire rather than take it at once (the old one may only be cut off, still acting).
const identity = process.env.POD_NAME ?? hostname();
const cluster = await inCluster({ serviceAccountDir: process.env.TENURE_SERVICE_ACCOUNT_DIR });
const elector = createElector({
  lock: leaseLock(cluster, { name: process.env.LEASE_NAME ?? "tenure-example" }),
  identity,
  releaseOnCancel: true, // a successor takes over at once when we stop
  onStartedLeading: async (signal, term) => {
    console.log(`${identity}: leading (term ${term.transitions})`);
    // The work goes here, and must stop when `signal` aborts: another replica may lead from then on.
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  },
  onStoppedLeading: () => console.log(`${identity}: stopped leading`),
  onNewLeader: (leader) => console.log(`${identity}: the leader is ${leader || "nobody"}`),
});

const stop = new AbortController();
process.once("SIGTERM", () => stop.abort()); // Kubernetes stops pods with SIGTERM
process.once("SIGINT", () => stop.abort());
await elector.run(stop.signal);
// Leadership lost without being asked to stop: exit non-zero, and Kubernetes restarts us to campaign again.
if (!stop.signal.aborted) process.exitCode = 1;
