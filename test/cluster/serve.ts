/**
 * `npm run cluster`: a test cluster to poke at by hand (or to run tests against repeatedly with
 * `TENURE_CLUSTER`), up until Ctrl-C. Arguments are extra kube-apiserver flags, e.g.
 * `npm run cluster -- --feature-gates=CoordinatedLeaderElection=true --runtime-config=coordination.k8s.io/v1beta1=true`.
 *
 * @module
 */

import { startCluster } from "./cluster.ts";

const started = performance.now();
const cluster = await startCluster({ apiserverArgs: process.argv.slice(2) });
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const token = `"Authorization: Bearer $(cat ${cluster.adminTokenFile})"`;
process.stdout.write(
  [
    `[cluster] ready in ${seconds} s`,
    `  server:           ${cluster.server}`,
    `  CA file:          ${cluster.caFile}`,
    `  admin token file: ${cluster.adminTokenFile}`,
    `  kubeconfig:       ${cluster.kubeconfig}`,
    `  logs:             ${cluster.apiserverLog}, ${cluster.etcdLog}`,
    "",
    `  curl --cacert ${cluster.caFile} -H ${token} ${cluster.server}/apis/coordination.k8s.io/v1/leases`,
    `  KUBECONFIG=${cluster.kubeconfig} kubectl get leases -A`,
    `  TENURE_CLUSTER=${cluster.infoFile} <test command>   # tests using connectCluster()`,
    "",
    "Press Ctrl-C to stop.",
    "",
  ].join("\n"),
);
// The running servers keep the event loop alive; the cluster's SIGINT/SIGTERM handler tears down.
