/**
 * Node over HTTP/1.1 through undici: its own `fetch` and `Agent` (Node's global fetch takes no CA),
 * `ProxyAgent` (HTTP CONNECT over an http or https proxy) and `Socks5ProxyAgent` (which undici
 * marks experimental). undici is imported the first time one of these fetches is built, never
 * before: a process that talks HTTP/2 straight to the server does not pay for it (heap after
 * importing the Node entry and one request in-cluster: 6.3 MiB instead of 9.2 MiB, Node 20).
 *
 * @module
 */
import type * as Undici from "undici";
import type { Fetch } from "../kubernetes/cluster.ts";
import { type TlsOptions, unsupported } from "./runtime.ts";
import { nodeTls } from "./node-http2.ts";

let loading: Promise<typeof Undici> | undefined;
const undici = (): Promise<typeof Undici> => (loading ??= import("undici"));

/** What each fetch needs before its first request: undici loaded and its dispatcher built. */
const setups = new WeakMap<Fetch, Promise<unknown>>();

/**
 * Settles when `fetch` (one of undiciFetch's) can send; rejects with why it cannot (a socks5 proxy
 * and an undici without Socks5ProxyAgent). Resolves at once for any other fetch. The Node entry
 * awaits it, so that such errors still reach `inCluster()` and `fromKubeconfig()`.
 */
export const undiciReady = async (fetch: Fetch): Promise<void> => void (await setups.get(fetch));

/** A fetch over HTTP/1.1 with these TLS settings, through `proxy` when given. */
export const undiciFetch = (tls: TlsOptions, proxy?: URL): Fetch => {
  const options = nodeTls(tls);
  const setup = undici().then((u) => {
    // undici's fetch paired with undici's Agent: mixing with Node's bundled undici breaks across versions.
    const dispatcher =
      proxy === undefined
        ? new u.Agent({ connect: tls.serverName === undefined ? options : serverNamed(u, options, tls.serverName) })
        : proxy.protocol === "socks5:"
          ? socks5(u, proxy.href, options)
          : // Go checks an https proxy with the cluster's TLS settings too, and its tls-server-name if set.
            new u.ProxyAgent({ uri: proxy.href, requestTls: options, proxyTls: { ...options, servername: tls.serverName ?? proxy.hostname } });
    return (url: string, init: RequestInit) => u.fetch(url, { ...init, dispatcher } as never) as unknown as Promise<Response>;
  });
  setup.catch(() => {}); // reported by undiciReady, and by each request
  const fetch: Fetch = async (url, init) => (await setup)(url, init);
  setups.set(fetch, setup);
  return fetch;
};

/** A connector that always sends `name`: undici otherwise prefers the URL's host name to `connect.servername`. */
const serverNamed = (u: typeof Undici, options: object, name: string): Undici.buildConnector.connector => {
  const connect = u.buildConnector(options);
  return (opts, callback) => connect({ ...opts, servername: name }, callback);
};

/**
 * undici marks its SOCKS5 agent experimental; a bundled undici (Bun's) may not have it at all,
 * hence a lookup on the module, never a named import (which Bun refuses).
 */
const socks5 = (u: typeof Undici, href: string, requestTls: object): Undici.Dispatcher => {
  const Socks5 = (u as { Socks5ProxyAgent?: typeof Undici.Socks5ProxyAgent }).Socks5ProxyAgent;
  if (Socks5 === undefined) throw unsupported("node", "reach the API server through a socks5 proxy", "this undici has no Socks5ProxyAgent: use an http or https proxy");
  return new Socks5(href, { requestTls } as Undici.Socks5ProxyAgent.Options); // requestTls: read by undici, missing from its types
};
