/**
 * The one clock of the edge test: an HTTP server in the test process that receives every
 * contender's reports (campaign.ts) and timestamps each on arrival with `performance.now()`, then
 * acknowledges it. Contenders in workerd, edge-runtime and Node all report here, so their
 * leadership intervals are on one timeline; campaign.ts says why arrival times are safe to judge.
 *
 * Listens on 127.0.0.1 with a port the OS picks.
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { PeerEvent } from "../interop/checker.ts";
import type { Report } from "./campaign.ts";

/** A report with its arrival time (`mono`), in the shape the interop checker judges. */
export interface Received extends PeerEvent {
  readonly message?: string | undefined;
}

export interface Collector {
  /** Where contenders POST their reports. */
  readonly url: string;
  readonly events: readonly Received[];
  /** Resolves with the first event (from now on, or already received) that `match` accepts; rejects after `ms`, saying what was awaited. */
  next(what: string, match: (event: Received) => boolean, ms: number): Promise<Received>;
  close(): Promise<void>;
}

export const startCollector = async (): Promise<Collector> => {
  const events: Received[] = [];
  const waiters = new Set<(event: Received) => void>();
  const server = createServer((request, response) => {
    // Arrival: the contender sent this after the fact it reports, and waits for the answer below.
    const mono = performance.now();
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => void (body += chunk));
    request.on("end", () => {
      let report: Report;
      try {
        report = JSON.parse(body) as Report;
      } catch {
        response.writeHead(400).end("not JSON");
        return;
      }
      const event: Received = { ...report, mono };
      events.push(event);
      for (const waiter of waiters) waiter(event);
      response.writeHead(204).end();
    });
  });
  // Contenders keep connections alive between reports; close() must not wait for them.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    events,
    next: (what, match, ms) =>
      new Promise((resolve, reject) => {
        const already = events.find(match);
        if (already !== undefined) return resolve(already);
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const heard = events.map((e) => `${e.process} ${e.event}${e.leader === undefined ? "" : ` ${e.leader}`}${e.message === undefined ? "" : `: ${e.message}`}`);
          reject(new Error(`${what}: not within ${ms} ms; reports so far:\n  ${heard.join("\n  ")}`));
        }, ms);
        const waiter = (event: Received): void => {
          if (!match(event)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(event);
        };
        waiters.add(waiter);
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
