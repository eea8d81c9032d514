/**
 * What the Kubernetes adapter needs from a runtime, and nothing more: a fetch with TLS settings,
 * files, environment, and running a credential plugin. One small file per runtime implements it.
 *
 * @module
 */
import type { Fetch } from "../kubernetes/cluster.ts";

export interface TlsOptions {
  /** PEM of the CA(s) that signed the API server's certificate. */
  readonly ca?: string;
  /** PEM client certificate and key, for client-certificate authentication. */
  readonly cert?: string;
  readonly key?: string;
  /** Skip verifying the server's certificate. Only when the user explicitly asked (kubeconfig). */
  readonly insecureSkipTlsVerify?: boolean;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Runtime {
  readonly name: "node" | "deno" | "bun" | "web";
  /** A fetch that verifies the server with `ca` and presents `cert`/`key`. */
  tlsFetch(tls: TlsOptions): Fetch;
  readFile(path: string): Promise<string>;
  env(name: string): string | undefined;
  /** Runs a program with extra environment variables; stdin is closed. */
  exec(command: string, args: readonly string[], env: Readonly<Record<string, string>>): Promise<ExecResult>;
}

/** For runtimes without a capability: says what is missing and what to do instead. */
export const unsupported = (runtime: string, what: string, instead: string): Error =>
  new TypeError(`tenure/kubernetes on ${runtime} cannot ${what}; ${instead}`);
