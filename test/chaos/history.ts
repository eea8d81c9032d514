/**
 * The history of the chaos Leases as the API server committed it: a watch (as the admin, straight
 * to the API server, past the fault proxies) on every Lease of the namespace, each change with the
 * time it arrived on CLOCK_MONOTONIC, for reading a run's record afterwards (who wrote when, what
 * followers could have seen). It reconnects after the server's restarts; what it misses while the
 * API server is down, it does not invent.
 *
 * @module
 */
import type { TestCluster } from "../cluster/cluster.ts";
import { monoMs } from "../interop/fleet.ts";

export interface LeaseChange {
  readonly mono: number;
  readonly lease: string;
  readonly type: string;
  readonly resourceVersion: string;
  readonly holder: string;
  readonly renewTime: string;
  readonly transitions: number;
}

export interface History {
  readonly changes: readonly LeaseChange[];
  stop(): void;
}

export const recordHistory = (kube: TestCluster, namespace: string): History => {
  const changes: LeaseChange[] = [];
  const controller = new AbortController();
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  void (async () => {
    let from = "";
    while (!controller.signal.aborted) {
      try {
        const query = `watch=true&allowWatchBookmarks=false${from === "" ? "" : `&resourceVersion=${from}`}`;
        const response = await kube.fetch(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases?${query}`, {
          headers: { authorization: `Bearer ${kube.adminToken}`, accept: "application/json" },
          signal: controller.signal,
        });
        if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
        const decoder = new TextDecoder();
        let buffer = "";
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
            const event = JSON.parse(buffer.slice(0, i)) as { type: string; object: any };
            buffer = buffer.slice(i + 1);
            if (event.type === "ERROR") {
              from = "";
              continue;
            }
            const { metadata, spec } = event.object;
            from = metadata.resourceVersion;
            changes.push({
              mono: monoMs(),
              lease: metadata.name,
              type: event.type,
              resourceVersion: metadata.resourceVersion,
              holder: spec?.holderIdentity ?? "",
              renewTime: spec?.renewTime ?? "",
              transitions: spec?.leaseTransitions ?? 0,
            });
          }
        }
      } catch {
        // the server restarts, or we stop: try again shortly
      }
      await sleep(100);
    }
  })();
  return { changes, stop: () => controller.abort() };
};
