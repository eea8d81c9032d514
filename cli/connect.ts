/**
 * How the command reaches the API server: in-cluster by default (the pod's service account),
 * a kubeconfig outside a cluster. Only public entry points are used: the `tenure/kubernetes`
 * entry of the runtime we run on, picked here as its export condition would pick it.
 *
 * @module
 */
import type { Cluster } from "../adapters/kubernetes/index.ts";
import { UsageError } from "./options.ts";

type Entry = typeof import("../adapters/kubernetes/entry-node.ts");

/**
 * The entry of the runtime we run on. Not a static import: each entry loads its runtime's
 * transport (node:http2 on Node, and undici there when a proxy needs it), which must not load on
 * the others. A bundler (bun build --compile, deno compile) still sees the three literal
 * specifiers and includes them.
 */
const entry = (): Promise<Entry> => {
  if ("Deno" in globalThis) return import("../adapters/kubernetes/entry-deno.ts");
  if ("Bun" in globalThis) return import("../adapters/kubernetes/entry-bun.ts");
  return import("../adapters/kubernetes/entry-node.ts");
};

export interface ConnectOptions {
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly warn: (message: string) => void;
}

/**
 * --kubeconfig or --context: that kubeconfig. Otherwise in a pod (KUBERNETES_SERVICE_HOST set):
 * the service account. Otherwise `$KUBECONFIG` or `~/.kube/config`, as kubectl does.
 * TLS is always verified; a kubeconfig's `insecure-skip-tls-verify` is honoured with a warning
 * (the adapter prints it).
 */
export const connect = async (options: ConnectOptions): Promise<Cluster> => {
  const kubernetes = await entry();
  const { kubeconfig, context, warn } = options;
  if (kubeconfig === undefined && context === undefined && options.env["KUBERNETES_SERVICE_HOST"]) {
    try {
      return await kubernetes.inCluster({ warn });
    } catch (error) {
      throw new Error(`${message(error)}\n  (outside a pod, unset KUBERNETES_SERVICE_HOST or pass --kubeconfig)`);
    }
  }
  if (kubeconfig === "") throw new UsageError("--kubeconfig: empty path");
  try {
    return await kubernetes.fromKubeconfig({ ...(kubeconfig === undefined ? {} : { path: kubeconfig }), ...(context === undefined ? {} : { context }), warn });
  } catch (error) {
    const where = kubeconfig ?? options.env["KUBECONFIG"] ?? "~/.kube/config";
    throw new Error(`cannot use kubeconfig ${where}: ${message(error)}\n  (in a pod, KUBERNETES_SERVICE_HOST is set and the service account is used; outside, pass --kubeconfig and --context)`);
  }
};

export const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
