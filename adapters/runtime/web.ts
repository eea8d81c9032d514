/**
 * Any other runtime (the `default` export condition): plain `fetch`, which trusts only public CAs
 * and cannot present a client certificate, and no file access. Build a Cluster with your own
 * `fetch` there, and no credential plugins. Imports nothing runtime-specific, so bundles stay small.
 *
 * @module
 */
import type { Fetch } from "../kubernetes/cluster.ts";
import { type Runtime, unsupported } from "./runtime.ts";

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;

export const runtime: Runtime = {
  name: "web",
  can: { serverName: false, proxies: [], direct: true },
  tlsFetch: (tls) => {
    if (tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined || tls.insecureSkipTlsVerify === true || tls.serverName !== undefined) {
      throw unsupported("this runtime", "set a custom CA or client certificate on fetch", "pass your own `fetch` to cluster({ server, fetch }) that trusts the cluster's CA");
    }
    return ((url, init) => fetch(url, init)) as Fetch;
  },
  readFile: () => Promise.reject(unsupported("this runtime", "read files", "build the Cluster yourself with cluster({ server, token, fetch })")),
  env: (name) => env?.[name],
  // No `spawn`: execLimited (exec.ts) says that plugins cannot run here, and this bundle stays small.
};
