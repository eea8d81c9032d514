/**
 * A scripted API server behind the adapter's one seam, `fetch`: each request is recorded and
 * answered by the next handler, so the adapter's edge cases run in the unit suite in milliseconds.
 * (The real API server is the e2e suite's; this only replays what it would say.)
 */
import { cluster, type ClusterOptions, type Cluster } from "../../../adapters/kubernetes/cluster.ts";

export interface Sent {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly body: unknown;
}

export type Handler = (sent: Sent) => Response | Promise<Response>;

export const SERVER = "https://kube.test:6443";

/** A JSON answer, as the API server sends it. */
export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** A Status failure, e.g. `status(401, "Unauthorized")`. */
export const status = (code: number, reason: string, message: string = reason): Response =>
  json(code, { kind: "Status", apiVersion: "v1", status: "Failure", reason, message, code });

/** A body that sends `parts` and then breaks as a reset connection does in undici. */
export const cutStream = (parts: readonly string[]): ReadableStream<Uint8Array> => {
  const encoder = new TextEncoder();
  const queue = [...parts];
  // One part per pull: an error in `start` would discard the parts still queued.
  return new ReadableStream({
    pull(controller) {
      const part = queue.shift();
      if (part !== undefined) return controller.enqueue(encoder.encode(part));
      const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
      controller.error(Object.assign(new TypeError("terminated"), { cause: reset }));
    },
  }, { highWaterMark: 0 });
};

/** A cluster whose fetch answers with `handlers` in order; fails the request when none is left. */
export const fakeApi = (handlers: Handler[], options: Partial<ClusterOptions> = {}): { cluster: Cluster; sent: Sent[]; warnings: string[] } => {
  const sent: Sent[] = [];
  const warnings: string[] = [];
  const c = cluster({
    server: SERVER,
    namespace: "ns",
    warn: (message) => warnings.push(message),
    ...options,
    fetch: async (url, init) => {
      const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
      const request: Sent = { method: init.method ?? "GET", url, headers: new Headers(init.headers), body };
      sent.push(request);
      const handler = handlers.shift();
      if (handler === undefined) throw new Error(`unexpected request ${request.method} ${url}`);
      return handler(request);
    },
  });
  return { cluster: c, sent, warnings };
};

export const signal = (): AbortSignal => new AbortController().signal;

/** A Lease as the API server returns it. */
export const lease = (holder: string, resourceVersion: string): unknown => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: { name: "lock", namespace: "ns", resourceVersion, uid: "u-1" },
  spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: "2026-11-23T18:43:06.123456Z", leaseTransitions: 2 },
});
