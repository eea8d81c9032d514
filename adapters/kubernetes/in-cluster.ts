/**
 * In-cluster configuration, as a pod sees it: the API server from `KUBERNETES_SERVICE_HOST` and
 * `_PORT`, and the service-account token, CA and namespace from its mounted folder. The token is
 * re-read at least every minute and at once after a 401, because bound tokens rotate. HTTPS_PROXY
 * and NO_PROXY apply by Go's rules, as they do to client-go in a pod. Failures to set up are
 * InClusterErrors.
 *
 * @module
 */
import type { Runtime } from "../runtime/runtime.ts";
import { TenureError } from "../../src/errors.ts";
import { type Cluster, cluster } from "./cluster.ts";
import type { Connect } from "./connect.ts";
import { InClusterError } from "./setup-errors.ts";
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

/** `connect` is connect.ts's on runtimes that can proxy; plain `tlsFetch` on the web keeps the proxy rules out of its bundle. */
export const inClusterWith = async (runtime: Runtime, options: InClusterOptions = {}, connect: Connect = (rt, c) => rt.tlsFetch(c.tls)): Promise<Cluster> => {
  const host = runtime.env("KUBERNETES_SERVICE_HOST");
  const port = runtime.env("KUBERNETES_SERVICE_PORT");
  if (!host || !port) {
    throw new InClusterError("inCluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set, so this is not a pod; use fromKubeconfig() outside a cluster");
  }
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const tokenFile = options.tokenFile ?? `${dir}/token`;
  const caFile = options.caFile ?? `${dir}/ca.crt`;
  const namespaceFile = options.namespaceFile ?? `${dir}/namespace`;

  const ca = await runtime.readFile(caFile).catch((error: unknown) => {
    if (error instanceof TenureError) throw error; // this runtime reads no files
    throw new InClusterError(`inCluster: cannot read the cluster CA at ${caFile} (${error instanceof Error ? error.message : String(error)}); is a service account mounted?`, { cause: error });
  });
  // Read once now, so that a missing token fails here rather than at the first election request.
  const credentials = fileTokenCredentials(tokenFile, (path) => runtime.readFile(path), options.tokenMaxAge);
  await credentials.authorization().catch((error: unknown) => {
    throw new InClusterError(`inCluster: ${error instanceof Error ? error.message : String(error)}; is a service account mounted?`, { cause: error });
  });
  const namespace = (await runtime.readFile(namespaceFile).catch(() => "")).trim();
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const warn = options.warn ?? ((message: string) => console.warn(`tenure: ${message}`));

  return cluster({
    server,
    fetch: connect(runtime, { server, tls: { ca }, source: "in-cluster" }, warn),
    credentials,
    namespace: namespace || undefined,
    maxResponseBytes: options.maxResponseBytes,
    warn: options.warn,
  });
};
