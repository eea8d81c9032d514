/**
 * `--http ADDRESS`: the sidecar's endpoints, on node:http (which Node, Deno and Bun all serve).
 *
 * - `GET /`: `{"name":"<leader>"}`, the retired leader-elector sidecar's answer, so its users can
 *   switch without touching the program that asks; `""` while nobody holds the lease.
 * - `GET /healthz`: the elector's `check(tolerance)`, client-go's healthz semantics: 500 only for
 *   a leader that renewed nothing for leaseDuration + tolerance (a wedged leader); followers are
 *   healthy, since restarting them fixes nothing.
 * - `GET /metrics`: Prometheus text (see metrics.ts).
 *
 * @module
 */
import { createServer, type Server } from "node:http";
import { metricsText } from "./metrics.ts";
import type { Tracker } from "./tracker.ts";

export interface Endpoint {
  /** The port actually bound (useful with `:0`). */
  readonly port: number;
  close(): Promise<void>;
}

export const serveHttp = (tracker: Tracker, address: { host: string; port: number }, tolerance: number): Promise<Endpoint> => {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string): void => {
      response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      response.end(request.method === "HEAD" ? undefined : body);
    };
    if (request.method !== "GET" && request.method !== "HEAD") return send(405, "text/plain; charset=utf-8", "only GET and HEAD\n");
    switch (path) {
      case "/":
        return send(200, "application/json", `${JSON.stringify({ name: tracker.current?.leader() ?? "" })}\n`);
      case "/healthz": {
        const problem = tracker.current?.check(tolerance);
        return problem === undefined ? send(200, "text/plain; charset=utf-8", "ok\n") : send(500, "text/plain; charset=utf-8", `${problem.message}\n`);
      }
      case "/metrics":
        return send(200, "text/plain; version=0.0.4; charset=utf-8", metricsText(tracker));
      default:
        return send(404, "text/plain; charset=utf-8", "not found: try /, /healthz or /metrics\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new Error(`--http ${address.host}:${address.port}: cannot listen (${error.code ?? error.message})${error.code === "EADDRINUSE" ? ": the port is taken, choose another" : ""}`)));
    server.listen(address.port, address.host, () => {
      const bound = server.address();
      resolve({
        port: typeof bound === "object" && bound !== null ? bound.port : address.port,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections?.();
        }),
      });
    });
  });
};
