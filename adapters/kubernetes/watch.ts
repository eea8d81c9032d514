/**
 * Watching one object by name: `GET <list>?watch=true&fieldSelector=metadata.name=<name>` with
 * bookmarks, as newline-delimited JSON events or (a Lease's, when asked) protobuf frames. A too-old
 * resourceVersion arrives as HTTP 200 and then an ERROR event with code 410, which becomes an
 * `Expired` LockError.
 *
 * @module
 */
import { type LockEvent, LockError, type Snapshot } from "../../src/lock.ts";
import type { Cluster } from "./cluster.ts";
import type { Action } from "./errors.ts";
import { describe, errorOfResponse } from "./errors.ts";
import { decodeProtobufEvent } from "./protobuf.ts";
import { ACCEPT_PROTOBUF, frames, isProtobuf, lines, parseJson, send } from "./request.ts";
import { decodeWatchEvent, type KubeObject } from "./wire.ts";

export interface WatchTarget {
  /** The collection path, e.g. `/apis/coordination.k8s.io/v1/namespaces/ns/leases`. */
  readonly collection: string;
  readonly name: string;
  readonly action: Action;
  /** Decodes an object from an ADDED or MODIFIED event. */
  readonly observe: (object: unknown) => Snapshot;
  /** An event (a line, a frame) the lock already knows (the echo of its own write), without decoding it. */
  readonly known?: (item: string | Uint8Array) => Snapshot | undefined;
  /** Ask for protobuf (protobuf.ts reads a Lease's events); JSON lines if the server answers so. */
  readonly protobuf?: boolean;
}

/** How long the server keeps a watch open; varied so that many followers do not reconnect in step. */
const serverTimeout = (): number => 240 + Math.floor(Math.random() * 120);
/** Opening must not hang: the API server answers a watch with headers at once. */
const OPEN_TIMEOUT = 15_000;
/** A stream silent for longer than the server's own timeout plus this is dead (a proxy dropped it). */
const IDLE_GRACE = 30_000;

export const watchObject = async (
  cluster: Cluster,
  target: WatchTarget,
  version: unknown,
  signal: AbortSignal,
): Promise<AsyncIterable<LockEvent>> => {
  const timeoutSeconds = serverTimeout();
  const resourceVersion = (version as KubeObject | undefined)?.metadata?.resourceVersion;
  const query = new URLSearchParams({
    watch: "true",
    fieldSelector: `metadata.name=${target.name}`,
    allowWatchBookmarks: "true",
    timeoutSeconds: String(timeoutSeconds),
  });
  if (resourceVersion !== undefined) query.set("resourceVersion", resourceVersion);

  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Clears the timer too: a pending timer would keep the process alive after the elector ends.
  const abort = (): void => (clearTimeout(timer), controller.abort(signal.reason));
  signal.addEventListener("abort", abort, { once: true });
  timer = setTimeout(() => controller.abort(new LockError("Timeout", `${describe(target.action)}: no answer within ${OPEN_TIMEOUT} ms`)), OPEN_TIMEOUT);
  const call = {
    method: "GET",
    path: `${target.collection}?${query}`,
    signal: controller.signal,
    action: target.action,
    ...(target.protobuf ? { accept: ACCEPT_PROTOBUF } : {}),
  } as const;
  let response: Response;
  try {
    response = await send(cluster, call);
  } catch (error) {
    clearTimeout(timer);
    signal.removeEventListener("abort", abort);
    throw error;
  }
  const idle = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new LockError("Timeout", `${describe(target.action)}: the stream went silent`)), (timeoutSeconds * 1000) + IDLE_GRACE);
  };
  idle();

  async function* events(): AsyncGenerator<LockEvent> {
    try {
      const items = isProtobuf(response) ? frames(response, cluster, call) : lines(response, cluster, call);
      for await (const item of items) {
        idle();
        const known = target.known?.(item);
        if (known !== undefined) {
          yield { _tag: "changed", snapshot: known };
          continue;
        }
        const event = typeof item === "string" ? decodeWatchEvent(parseJson(item, call)) : decodeProtobufEvent(item);
        switch (event.type) {
          case "ADDED":
          case "MODIFIED":
            yield { _tag: "changed", snapshot: target.observe(event.object) };
            break;
          case "DELETED":
            yield { _tag: "deleted", version: event.object };
            break;
          case "BOOKMARK":
            yield { _tag: "progress", version: event.object };
            break;
          case "ERROR":
            throw errorOfResponse(event.object.code ?? 500, event.object, new Headers(), target.action);
        }
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", abort);
      controller.abort();
    }
  }
  return events();
};
