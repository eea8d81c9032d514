/**
 * Deno: TLS and proxies (http, https, socks5) through `Deno.createHttpClient` (its CAs are added to
 * the default roots), files and plugins (`Deno.Command`) through the `Deno` namespace. Its fetch
 * cannot send a TLS server name other than the URL's host, and applies HTTPS_PROXY by its own
 * rules whatever the client says (connect.ts warns where that differs from client-go's). Only the slice of `Deno` used here is typed.
 *
 * @module
 */
import type { Fetch } from "../kubernetes/cluster.ts";
import { type Runtime, unsupported } from "./runtime.ts";

interface DenoLike {
  createHttpClient(options: { caCerts?: string[]; cert?: string; key?: string; proxy?: { url: string; basicAuth?: { username: string; password: string } } }): unknown;
  readTextFile(path: string): Promise<string>;
  env: { get(name: string): string | undefined };
  build: { os: string };
  Command: new (command: string, options: { args: string[]; env: Record<string, string>; stdin: "null"; stdout: "piped"; stderr: "piped" }) => {
    spawn(): {
      stdout: ReadableStream<Uint8Array>;
      stderr: ReadableStream<Uint8Array>;
      status: Promise<{ code: number }>;
      kill(signal: "SIGKILL"): void;
    };
  };
}

const deno = (): DenoLike => (globalThis as unknown as { Deno: DenoLike }).Deno;

export const runtime: Runtime = {
  name: "deno",
  can: { serverName: false, proxies: ["http:", "https:", "socks5:"], direct: false },
  tlsFetch: (tls, proxy) => {
    if (tls.insecureSkipTlsVerify === true) {
      throw unsupported("Deno", "skip TLS verification per client", "give the cluster's CA instead, or run deno with --unsafely-ignore-certificate-errors=<host>");
    }
    const client = deno().createHttpClient({
      ...(tls.ca === undefined ? {} : { caCerts: [tls.ca] }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
      ...(proxy === undefined ? {} : { proxy: denoProxy(proxy) }),
    });
    return ((url, init) => fetch(url, { ...init, client } as RequestInit)) as Fetch;
  },
  readFile: (path) => deno().readTextFile(path),
  env: (name) => {
    try {
      return deno().env.get(name);
    } catch {
      return undefined; // no --allow-env: as if unset
    }
  },
  windows: (globalThis as { Deno?: DenoLike }).Deno?.build.os === "windows",
  // The environment given is added to Deno's own, which the child inherits.
  spawn: (command, args, env) => {
    const child = new (deno().Command)(command, { args: [...args], env: { ...env }, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
    return {
      stdout: child.stdout,
      stderr: child.stderr,
      exited: child.status.then((status) => status.code),
      kill: () => {
        try {
          child.kill("SIGKILL");
        } catch {
          // it has exited already
        }
      },
    };
  },
};

/** Deno takes a proxy's credentials apart from its URL. */
const denoProxy = (proxy: URL): { url: string; basicAuth?: { username: string; password: string } } => {
  if (proxy.username === "" && proxy.password === "") return { url: proxy.href };
  const url = new URL(proxy.href);
  url.username = "";
  url.password = "";
  return { url: url.href, basicAuth: { username: decodeURIComponent(proxy.username), password: decodeURIComponent(proxy.password) } };
};
