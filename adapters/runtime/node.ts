/**
 * Node: HTTP/2 (`node:http2`, node-http2.ts) to an https server when no proxy applies, as client-go
 * negotiates it; HTTP/1.1 through undici (node-undici.ts) through proxies (http, https, socks5), to
 * plain `http://` servers (`kubectl proxy`), and to a server whose TLS handshake does not offer
 * HTTP/2. Files through `node:fs`, plugins through `node:child_process`.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { http2Fetch, http2OrElse } from "./node-http2.ts";
import { undiciFetch } from "./node-undici.ts";
import { type Runtime, unsupported } from "./runtime.ts";

/** Node with its default transport: HTTP/2 where it can, else HTTP/1.1 (see the module's doc). */
export const runtime: Runtime = {
  name: "node",
  can: { serverName: true, proxies: ["http:", "https:", "socks5:"], direct: true },
  tlsFetch: (tls, proxy) => (proxy === undefined ? http2OrElse(tls, () => undiciFetch(tls)) : undiciFetch(tls, proxy)),
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

/** Node with HTTP/1.1 through undici only (`http2: false`). */
export const http1Runtime: Runtime = { ...runtime, tlsFetch: undiciFetch };

/** Node with HTTP/2 only (`http2: true`): no proxy, and a server that does not offer HTTP/2 fails every request. */
export const http2Runtime: Runtime = {
  ...runtime,
  tlsFetch: (tls, proxy) => {
    if (proxy !== undefined) {
      throw unsupported("Node", `connect through the ${proxy.protocol.slice(0, -1)} proxy ${proxy.host} over HTTP/2`, "leave out the http2 option: the default transport goes through http, https and socks5 proxies over HTTP/1.1");
    }
    return http2Fetch(tls);
  },
};
