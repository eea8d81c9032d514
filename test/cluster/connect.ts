/**
 * For tests: the cluster started by `with-cluster` (or `serve`), found through the JSON file named
 * by `TENURE_CLUSTER`. Starts nothing; `stop()` does nothing.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { clusterClient, type ClusterInfo, type TestCluster } from "./client.ts";

export type { ApiResponse, ClusterInfo, IssuedCert, TestCluster, TokenOptions } from "./client.ts";

export async function connectCluster(infoFile: string | undefined = process.env["TENURE_CLUSTER"]): Promise<TestCluster> {
  if (infoFile === undefined || infoFile === "") {
    throw new Error(
      "TENURE_CLUSTER is not set: run the tests through test/cluster/with-cluster " +
        "(node .build/test/cluster/with-cluster.js -- <command>) or point it at the cluster.json that `npm run cluster` prints",
    );
  }
  const info = JSON.parse(await readFile(infoFile, "utf8")) as ClusterInfo;
  const client = await clusterClient(info);
  // The cluster belongs to whoever started it.
  return { ...info, ...client, infoFile, stop: async () => {} };
}
