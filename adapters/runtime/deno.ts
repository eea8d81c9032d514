/**
 * Deno: TLS through `Deno.createHttpClient` (its CAs are added to the default roots), files and
 * plugins through the `Deno` namespace. Only the slice of `Deno` used here is typed.
 *
 * @module
 */
import type { Fetch } from "../kubernetes/cluster.ts";
import { type Runtime, unsupported } from "./runtime.ts";

interface DenoLike {
  createHttpClient(options: { caCerts?: string[]; cert?: string; key?: string }): unknown;
  readTextFile(path: string): Promise<string>;
  env: { get(name: string): string | undefined };
  Command: new (command: string, options: { args: string[]; env: Record<string, string>; stdin: "null"; stdout: "piped"; stderr: "piped" }) => {
    output(): Promise<{ code: number; stdout: Uint8Array; stderr: Uint8Array }>;
  };
}

const deno = (): DenoLike => (globalThis as unknown as { Deno: DenoLike }).Deno;

export const runtime: Runtime = {
  name: "deno",
  tlsFetch: (tls) => {
    if (tls.insecureSkipTlsVerify === true) {
      throw unsupported("Deno", "skip TLS verification per client", "give the cluster's CA instead, or run deno with --unsafely-ignore-certificate-errors=<host>");
    }
    const client = deno().createHttpClient({
      ...(tls.ca === undefined ? {} : { caCerts: [tls.ca] }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
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
  exec: async (command, args, env) => {
    const output = await new (deno().Command)(command, { args: [...args], env: { ...env }, stdin: "null", stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder();
    return { code: output.code, stdout: text.decode(output.stdout), stderr: text.decode(output.stderr) };
  },
};
