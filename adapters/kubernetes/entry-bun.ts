/**
 * `tenure/kubernetes` on bun: the shared adapter with this runtime's transport.
 *
 * @module
 */
import { runtime } from "../runtime/bun.ts";
import type { Cluster } from "./cluster.ts";
import { connect } from "./connect.ts";
import { type InClusterOptions, inClusterWith } from "./in-cluster.ts";
import { fromKubeconfigWith, type KubeconfigOptions } from "./kubeconfig.ts";

export * from "./index.ts";

/** The Cluster a pod sees: service-account token (rotating), CA and namespace. */
export const inCluster = (options?: InClusterOptions): Promise<Cluster> => inClusterWith(runtime, options, connect);

/** The Cluster of a kubeconfig context (default: `$KUBECONFIG`, else `~/.kube/config`, current context). */
export const fromKubeconfig = (options?: KubeconfigOptions): Promise<Cluster> => fromKubeconfigWith(runtime, options);
