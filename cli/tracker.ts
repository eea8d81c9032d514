/**
 * What the HTTP endpoints report about the campaign: its elector (one for the whole run, over every
 * term with `--rejoin`), and what only the command knows (terms, the child).
 *
 * @module
 */
import type { Elector } from "../src/index.ts";

export interface Tracker {
  /** The Lease's name: client-go's `name` label. */
  readonly lease: string;
  readonly namespace: string;
  readonly identity: string;
  /** The campaign's elector, once there is one. */
  current: Elector | undefined;
  /** Terms this process has led (started leading). */
  terms: number;
  /** `run` only: whether the child is running now. */
  child: boolean | undefined;
  /** `run` only: children started. */
  childStarts: number;
}

export const tracker = (lease: string, namespace: string, identity: string, supervises: boolean): Tracker => ({
  lease,
  namespace,
  identity,
  current: undefined,
  terms: 0,
  child: supervises ? false : undefined,
  childStarts: 0,
});
