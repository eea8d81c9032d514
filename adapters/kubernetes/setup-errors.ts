/**
 * Why a Cluster could not be built, as classes a caller can catch: the kubeconfig is missing or
 * wrong (`KubeconfigError`), this is not a pod or its service account is not mounted
 * (`InClusterError`), or the runtime cannot do what the configuration asks (`UnsupportedError`,
 * from runtime.ts). Failures of requests later on are LockErrors, as before.
 *
 * @module
 */
import { TenureError } from "../../src/errors.ts";

export interface KubeconfigErrorOptions {
  /** The file at fault, when one is. */
  readonly path?: string | undefined;
  /** 1-based, for a file that cannot be parsed. */
  readonly line?: number | undefined;
  readonly column?: number | undefined;
  readonly cause?: unknown;
}

/** A kubeconfig that cannot be found, read, parsed, or used as it is written. */
export class KubeconfigError extends TenureError {
  override readonly name: string = "KubeconfigError";
  readonly path: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(message: string, options: KubeconfigErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path;
    this.line = options.line;
    this.column = options.column;
  }
}

/** `inCluster()` outside a pod, or without the service account's token or CA. */
export class InClusterError extends TenureError {
  override readonly name: string = "InClusterError";
}
