/**
 * `tenure/kubernetes` on node: the shared adapter with this runtime's transport.
 *
 * @module
 */
import { http2Runtime, runtime } from "../runtime/node.ts";
import type { Cluster } from "./cluster.ts";
import { connect } from "./connect.ts";
import { type InClusterOptions, inClusterWith } from "./in-cluster.ts";
import { fromKubeconfigWith, type KubeconfigOptions } from "./kubeconfig.ts";

export * from "./index.ts";

/** How Node reaches the API server. */
export interface NodeTransportOptions {
  /**
   * Talk HTTP/2 (`node:http2`): one connection per API server carries every request and watch,
   * with compressed headers. Default false: HTTP/1.1 through undici. No proxies over HTTP/2.
   */
  readonly http2?: boolean;
}

/** The Cluster a pod sees: service-account token (rotating), CA and namespace. */
export const inCluster = (options?: InClusterOptions & NodeTransportOptions): Promise<Cluster> =>
  inClusterWith(options?.http2 === true ? http2Runtime : runtime, options, connect);

/** The Cluster of a kubeconfig context (default: `$KUBECONFIG`, else `~/.kube/config`, current context). */
export const fromKubeconfig = (options?: KubeconfigOptions & NodeTransportOptions): Promise<Cluster> =>
  fromKubeconfigWith(options?.http2 === true ? http2Runtime : runtime, options);
