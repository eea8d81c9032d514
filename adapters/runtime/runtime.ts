/**
 * What the Kubernetes adapter needs from a runtime, and nothing more: a fetch with TLS settings,
 * files, environment, and starting a credential plugin. One small file per runtime implements it;
 * the limits a plugin runs under are the same everywhere (exec.ts), not each runtime's own.
 *
 * @module
 */
import { TenureError } from "../../src/errors.ts";
import type { Fetch } from "../kubernetes/cluster.ts";

export interface TlsOptions {
  /** PEM of the CA(s) that signed the API server's certificate. */
  readonly ca?: string;
  /** PEM client certificate and key, for client-certificate authentication. */
  readonly cert?: string;
  readonly key?: string;
  /** Skip verifying the server's certificate. Only when the user explicitly asked (kubeconfig). */
  readonly insecureSkipTlsVerify?: boolean;
  /**
   * The name to send as SNI and to verify the certificate against, instead of the URL's host
   * (kubeconfig's `tls-server-name`). Only where `can.serverName`.
   */
  readonly serverName?: string;
}

/** What a runtime's fetch can do beyond a CA and a client certificate; connect.ts checks it. */
export interface Abilities {
  /** Send a TLS server name other than the URL's host. */
  readonly serverName: boolean;
  /** Proxy URL schemes it tunnels through (`http:`, `https:`, `socks5:`). */
  readonly proxies: readonly string[];
  /** Connect straight to the server although HTTPS_PROXY is set (Deno's fetch applies it by itself). */
  readonly direct: boolean;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A started program. */
export interface Child {
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** The exit code; rejects when the program could not be started. */
  readonly exited: Promise<number>;
  /** Stops it at once (SIGKILL): a plugin that hangs may well ignore politer signals. */
  kill(): void;
}

export interface Runtime {
  readonly name: "node" | "deno" | "bun" | "web";
  /** Whether paths and `KUBECONFIG` lists follow Windows rules (`C:\\`, `\\`, `;`). */
  readonly windows?: boolean;
  /** Default: nothing beyond a CA and a client certificate. */
  readonly can?: Abilities;
  /**
   * A fetch that verifies the server with `ca` and presents `cert`/`key`, through `proxy` when
   * given, else (where `can.direct`) straight to the server whatever the environment says.
   */
  tlsFetch(tls: TlsOptions, proxy?: URL): Fetch;
  readFile(path: string): Promise<string>;
  env(name: string): string | undefined;
  /**
   * Starts a program with extra environment variables, stdin closed; may throw when it cannot.
   * Absent where programs cannot be run. Use `execLimited` (exec.ts), which bounds it.
   */
  spawn?(command: string, args: readonly string[], env: Readonly<Record<string, string>>): Child;
}

/** What the configuration asks for, this runtime cannot do (a kubeconfig field, a proxy kind). */
export class UnsupportedError extends TenureError {
  override readonly name: string = "UnsupportedError";
}

/** For runtimes without a capability: says what is missing and what to do instead. */
export const unsupported = (runtime: string, what: string, instead: string): UnsupportedError =>
  new UnsupportedError(`tenure/kubernetes on ${runtime} cannot ${what}; ${instead}`);
