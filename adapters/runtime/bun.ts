/**
 * Bun: HTTP/2 through `node:http2` (node-http2.ts) to an https server when no proxy applies, as on
 * Node (Bun's fetch speaks only HTTP/1.1); else fetch, with TLS through its `tls` option (an
 * explicit `ca` replaces the default roots; `serverName` for SNI and verification), proxies through
 * its `proxy` option (http and https proxies; `false` keeps it from applying HTTPS_PROXY by
 * itself), to `http://` servers and to servers that do not offer HTTP/2. Files through `Bun.file`,
 * plugins through `Bun.spawn`. Only the slice of `Bun` used here is typed.
 *
 * @module
 */
import type { Fetch } from "../kubernetes/cluster.ts";
import { http2OrElse } from "./node-http2.ts";
import type { Runtime, TlsOptions } from "./runtime.ts";

interface BunLike {
  file(path: string): { text(): Promise<string> };
  env: Record<string, string | undefined>;
  spawn(command: string[], options: { env: Record<string, string | undefined>; stdin: "ignore"; stdout: "pipe"; stderr: "pipe" }): {
    exited: Promise<number>;
    stdout: ReadableStream<Uint8Array>;
    stderr: ReadableStream<Uint8Array>;
    kill(signal: number): void;
  };
}

const bun = (): BunLike => (globalThis as unknown as { Bun: BunLike }).Bun;

export const runtime: Runtime = {
  name: "bun",
  can: { serverName: true, proxies: ["http:", "https:"], direct: true },
  tlsFetch: (tls, proxy) => (proxy === undefined ? http2OrElse(tls, () => bunFetch(tls)) : bunFetch(tls, proxy)),
  readFile: (path) => bun().file(path).text(),
  env: (name) => bun().env[name],
  windows: (globalThis as { process?: { platform?: string } }).process?.platform === "win32",
  spawn: (command, args, env) => {
    const child = bun().spawn([command, ...args], { env: { ...bun().env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    return { stdout: child.stdout, stderr: child.stderr, exited: child.exited, kill: () => child.kill(9) };
  },
};

/** Bun's fetch: HTTP/1.1, through `proxy` if given. */
const bunFetch = (tls: TlsOptions, proxy?: URL): Fetch => {
  const options = {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    ...(tls.serverName === undefined ? {} : { serverName: tls.serverName }),
    rejectUnauthorized: tls.insecureSkipTlsVerify !== true,
  };
  // `false` keeps Bun 1.4 from applying HTTPS_PROXY by itself ("" and null do not); the matrix checks it.
  const via = proxy?.href ?? false;
  return ((url, init) => fetch(url, { ...init, tls: options, proxy: via } as RequestInit)) as Fetch;
};
