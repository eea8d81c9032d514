/**
 * Node: TLS through undici's own `fetch` and `Agent` (Node's global fetch takes no CA), proxies
 * through undici's `ProxyAgent` (HTTP CONNECT over an http or https proxy) and `Socks5ProxyAgent`
 * (which undici marks experimental), files through `node:fs`, plugins through `node:child_process`.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
// A namespace import: Bun bundles its own undici, which has no Socks5ProxyAgent, and refuses a named import of it.
import * as undici from "undici";
import type { Fetch } from "../kubernetes/cluster.ts";
import { http2Fetch } from "./node-http2.ts";
import { type Runtime, unsupported } from "./runtime.ts";

export const runtime: Runtime = {
  name: "node",
  can: { serverName: true, proxies: ["http:", "https:", "socks5:"], direct: true },
  tlsFetch: (tls, proxy) => {
    const options = {
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
      ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
      rejectUnauthorized: tls.insecureSkipTlsVerify !== true,
    };
    // undici's fetch paired with undici's Agent: mixing with Node's bundled undici breaks across versions.
    const dispatcher =
      proxy === undefined
        ? new undici.Agent({ connect: tls.serverName === undefined ? options : serverNamed(options, tls.serverName) })
        : proxy.protocol === "socks5:"
          ? socks5(proxy.href, options)
          : // Go checks an https proxy with the cluster's TLS settings too, and its tls-server-name if set.
            new undici.ProxyAgent({ uri: proxy.href, requestTls: options, proxyTls: { ...options, servername: tls.serverName ?? proxy.hostname } });
    return ((url, init) => undici.fetch(url, { ...init, dispatcher } as never)) as Fetch;
  },
  readFile: (path) => readFile(path, "utf8"),
  env: (name) => process.env[name],
  windows: process.platform === "win32",
  spawn: (command, args, env) => {
    const child = spawn(command, [...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const web = (stream: Readable): ReadableStream<Uint8Array> => Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
    return {
      stdout: web(child.stdout),
      stderr: web(child.stderr),
      exited: new Promise((resolve, reject) => {
        child.once("error", reject); // could not be started (ENOENT, EACCES)
        child.once("exit", (code) => resolve(code ?? 128)); // null: killed by a signal
      }),
      kill: () => void child.kill("SIGKILL"),
    };
  },
};

/** Node with the opt-in HTTP/2 transport (node-http2.ts); it goes through no proxy. */
export const http2Runtime: Runtime = {
  ...runtime,
  tlsFetch: (tls, proxy) => {
    if (proxy !== undefined) {
      throw unsupported("Node", `connect through the ${proxy.protocol.slice(0, -1)} proxy ${proxy.host} over HTTP/2`, "leave out the http2 option: the default HTTP/1.1 transport goes through http, https and socks5 proxies");
    }
    return http2Fetch(tls);
  },
};

/** A connector that always sends `name`: undici otherwise prefers the URL's host name to `connect.servername`. */
const serverNamed = (options: object, name: string): undici.buildConnector.connector => {
  const connect = undici.buildConnector(options);
  return (opts, callback) => connect({ ...opts, servername: name }, callback);
};

/** undici marks its SOCKS5 agent experimental; a bundled undici (Bun's) may not have it at all. */
const socks5 = (href: string, requestTls: object): undici.Dispatcher => {
  const Socks5 = (undici as { Socks5ProxyAgent?: typeof undici.Socks5ProxyAgent }).Socks5ProxyAgent;
  if (Socks5 === undefined) throw unsupported("node", "reach the API server through a socks5 proxy", "this undici has no Socks5ProxyAgent: use an http or https proxy");
  return new Socks5(href, { requestTls } as undici.Socks5ProxyAgent.Options); // requestTls: read by undici, missing from its types
};
