/**
 * What a subcommand needs of its process, in one place: the environment, output, signals and
 * the way to the cluster. main.ts wires the real ones.
 *
 * @module
 */
import type { Cluster } from "../adapters/kubernetes/index.ts";

export interface Io {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Standard output: results (status, help). */
  out(text: string): void;
  /** Standard error, one line, prefixed `tenure: `: what tenure is doing and why. */
  log(text: string): void;
  /** Calls `handler` on SIGTERM and SIGINT until the returned function is called. */
  onSignals(handler: (signal: NodeJS.Signals) => void): () => void;
  connect(where: { readonly kubeconfig: string | undefined; readonly context: string | undefined }): Promise<Cluster>;
}
