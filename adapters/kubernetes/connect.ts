/**
 * The fetch for one API server, connected as client-go connects: the TLS settings, the TLS server
 * name (`tls-server-name`), and the proxy client-go would choose (proxy.ts). What the runtime
 * cannot do is refused here with an UnsupportedError that says so, never dropped: a connection
 * that silently went another way would reach the wrong listener, or leave through the wrong door.
 *
 * @module
 */
import { type Runtime, type TlsOptions, unsupported } from "../runtime/runtime.ts";
import type { Fetch } from "./cluster.ts";
import { chooseProxy, PROXY_SCHEMES } from "./proxy.ts";
import { KubeconfigError } from "./setup-errors.ts";

export interface Connection {
  readonly server: string;
  readonly tls: TlsOptions;
  /** The cluster's `proxy-url`, if any. */
  readonly proxyUrl?: string | undefined;
  /** For messages: `kubeconfig cluster "prod"`, `in-cluster`. */
  readonly source: string;
}

const RUNTIMES = { node: "Node", deno: "Deno", bun: "Bun", web: "this runtime" } as const;
const NOTHING_MORE = { serverName: false, proxies: [], direct: true } as const;

/** The proxy to use (undefined: none) after checking that this runtime can go that way. */
export const proxyOf = (runtime: Runtime, connection: Connection, warn: (message: string) => void): URL | undefined => {
  const can = runtime.can ?? NOTHING_MORE;
  const where = RUNTIMES[runtime.name];
  let url: URL;
  try {
    url = new URL(connection.server);
  } catch {
    throw new KubeconfigError(`${connection.source}: the server ${JSON.stringify(connection.server)} is not a URL; write it as https://host:port`);
  }
  const name = connection.tls.serverName;
  if (name !== undefined && name !== url.hostname && !can.serverName) {
    throw unsupported(where, `send the TLS server name "${name}" (tls-server-name of ${connection.source}) to ${url.host}: its fetch sends the URL's host`, `run under Node or Bun, or make "${name}" resolve to the server and use https://${name}:${url.port || 443} as its server`);
  }
  const choice = chooseProxy(url, connection.proxyUrl ?? undefined, (n) => runtime.env(n));
  if (choice.bypassed !== undefined && !can.direct) {
    warn(`${choice.bypassed.from} is set, and client-go would connect to ${url.host} directly (${choice.bypassed.why}), but ${where}'s fetch applies ${choice.bypassed.from} by its own rules and may send it through the proxy; add ${url.hostname} to NO_PROXY if that proxy cannot reach it`);
  }
  const proxy = choice.proxy;
  if (choice.from === undefined) return undefined;
  if (proxy === undefined || !PROXY_SCHEMES.includes(proxy.protocol)) {
    const problem = `${choice.from} ${JSON.stringify(choice.from === "proxy-url" ? connection.proxyUrl : runtime.env(choice.from))} of ${connection.source} is not an http, https or socks5 URL, the proxies client-go supports`;
    throw new KubeconfigError(`${problem}; write it as http://host:port`);
  }
  if (!can.proxies.includes(proxy.protocol)) {
    throw unsupported(where, `connect through the ${proxy.protocol.slice(0, -1)} proxy ${proxy.host} (${choice.from} of ${connection.source})`, `it can use ${can.proxies.length === 0 ? "no proxy" : can.proxies.map((p) => p.slice(0, -1)).join(" and ")} proxies; pass your own fetch to cluster() instead`);
  }
  return proxy;
};

export type Connect = (runtime: Runtime, connection: Connection, warn: (message: string) => void) => Fetch;

/** The fetch for `connection` on `runtime`; throws what the runtime cannot do. */
export const connect: Connect = (runtime, connection, warn) =>
  runtime.tlsFetch(connection.tls, proxyOf(runtime, connection, warn));
