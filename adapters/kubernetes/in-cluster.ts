/**
 * In-cluster configuration, as a pod sees it: the API server from `KUBERNETES_SERVICE_HOST` and
 * `_PORT`, and the service-account token, CA and namespace from its mounted folder. The token is
 * re-read at least every minute and at once after a 401, because bound tokens rotate.
 *
 * @module
 */
import type { Runtime } from "../runtime/runtime.ts";
import { type Cluster, cluster } from "./cluster.ts";
import { fileTokenCredentials } from "./token-file.ts";

export interface InClusterOptions {
  /** Default `/var/run/secrets/kubernetes.io/serviceaccount`. */
  readonly serviceAccountDir?: string;
  /** Default `<serviceAccountDir>/token`, `ca.crt`, `namespace`. */
  readonly tokenFile?: string;
  readonly caFile?: string;
  readonly namespaceFile?: string;
  /** Milliseconds a token read from the file is used before reading it again. Default 60 000. */
  readonly tokenMaxAge?: number;
  readonly maxResponseBytes?: number;
  readonly warn?: (message: string) => void;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export const inClusterWith = async (runtime: Runtime, options: InClusterOptions = {}): Promise<Cluster> => {
  const host = runtime.env("KUBERNETES_SERVICE_HOST");
  const port = runtime.env("KUBERNETES_SERVICE_PORT");
  if (!host || !port) {
    throw new Error("inCluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set, so this is not a pod; use fromKubeconfig() outside a cluster");
  }
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const tokenFile = options.tokenFile ?? `${dir}/token`;
  const caFile = options.caFile ?? `${dir}/ca.crt`;
  const namespaceFile = options.namespaceFile ?? `${dir}/namespace`;

  const ca = await runtime.readFile(caFile).catch((error: unknown) => {
    throw new Error(`inCluster: cannot read the cluster CA at ${caFile} (${error instanceof Error ? error.message : String(error)}); is a service account mounted?`);
  });
  // Read once now, so that a missing token fails here rather than at the first election request.
  const credentials = fileTokenCredentials(tokenFile, (path) => runtime.readFile(path), options.tokenMaxAge);
  await credentials.authorization();
  const namespace = (await runtime.readFile(namespaceFile).catch(() => "")).trim();

  return cluster({
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    fetch: runtime.tlsFetch({ ca }),
    credentials,
    namespace: namespace || undefined,
    maxResponseBytes: options.maxResponseBytes,
    warn: options.warn,
  });
};
