/**
 * `tenure/kubernetes` on node: the shared adapter with this runtime's transport.
 *
 * @module
 */
import { http1Runtime, http2Runtime, runtime } from "../runtime/node.ts";
import { undiciReady } from "../runtime/node-undici.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { Cluster } from "./cluster.ts";
import { connect } from "./connect.ts";
import { type InClusterOptions, inClusterWith } from "./in-cluster.ts";
import { fromKubeconfigWith, type KubeconfigOptions } from "./kubeconfig.ts";

export * from "./index.ts";

/** How Node reaches the API server. */
export interface NodeTransportOptions {
  /**
   * Absent (the default): HTTP/2 (`node:http2`) to an https server when no proxy applies, as
   * client-go negotiates it: one connection carries every request and watch, with compressed
   * headers. HTTP/1.1 through undici (loaded only then) through a proxy (http, https, socks5), to
   * an `http://` server, and to a server whose TLS handshake does not offer HTTP/2.
   *
   * `false`: HTTP/1.1 through undici always. `true`: HTTP/2 only; a proxy is an UnsupportedError,
   * and a server that does not offer HTTP/2 fails every request with a `Network` error saying so.
   */
  readonly http2?: boolean;
}

const transport = (options: NodeTransportOptions | undefined): Runtime =>
  options?.http2 === true ? http2Runtime : options?.http2 === false ? http1Runtime : runtime;

/** undici loads only when a fetch over it is built: what it cannot do (a socks5 proxy) still fails the setup. */
const ready = async (cluster: Cluster): Promise<Cluster> => (await undiciReady(cluster.fetch), cluster);

/** The Cluster a pod sees: service-account token (rotating), CA and namespace. */
export const inCluster = async (options?: InClusterOptions & NodeTransportOptions): Promise<Cluster> =>
  ready(await inClusterWith(transport(options), options, connect));

/** The Cluster of a kubeconfig context (default: `$KUBECONFIG`, else `~/.kube/config`, current context). */
export const fromKubeconfig = async (options?: KubeconfigOptions & NodeTransportOptions): Promise<Cluster> =>
  ready(await fromKubeconfigWith(transport(options), options));
