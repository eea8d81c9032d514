/**
 * The edge function of the edge test (Vercel's edge-runtime): the same campaign as the Worker's,
 * behind the same routes, with only web APIs in scope. An edge function has no bindings, so the
 * API server, token and namespace come with the start request; its `fetch` is the host's (undici),
 * which trusts the API server's CA only through NODE_EXTRA_CA_CERTS (see edge-host.ts).
 *
 * Unlike a Durable Object, nothing addresses one instance of an edge function: this works because
 * edge-runtime runs one context for all requests, as `vercel dev` does. Hosted, each request may
 * land in another instance and none outlives its request (see the report in edge.test.ts).
 *
 * @module
 */
import type * as Core from "../../src/index.ts";
import type * as Kubernetes from "../../adapters/kubernetes/entry-web.ts";
import { type Campaign, campaign, type Settings } from "./campaign.ts";
import { cpuProbe } from "./cpu-probe.ts";

/** What POST /electors/<identity>/start carries here: a Worker's bindings come along. */
export interface EdgeSettings extends Settings {
  readonly server: string;
  readonly token: string;
  readonly namespace: string;
}

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export const edgeFunction = (core: typeof Core, kubernetes: typeof Kubernetes): ((request: Request) => Promise<Response>) => {
  const campaigns = new Map<string, Campaign>();
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (url.pathname === "/probe/cpu") return json(await cpuProbe(Number(url.searchParams.get("iterations"))));
    if (url.pathname === "/probe/version") {
      // Whether this function's fetch reaches the API server over TLS at all (no credentials needed).
      try {
        const response = await fetch(`${url.searchParams.get("server")}/version`);
        return json({ status: response.status, body: await response.text() });
      } catch (error) {
        return json({ error: String(error), cause: String((error as { cause?: unknown }).cause) });
      }
    }
    const [, electors, identity, action] = url.pathname.split("/");
    // What this function can reach besides web APIs: the test asserts nothing.
    if (electors === "scope") return json({ process: typeof (globalThis as Record<string, unknown>)["process"], require: typeof (globalThis as Record<string, unknown>)["require"], Deno: typeof (globalThis as Record<string, unknown>)["Deno"], Bun: typeof (globalThis as Record<string, unknown>)["Bun"] });
    if (electors !== "electors" || identity === undefined || identity === "") return json({ error: "usage: /electors/<identity>/<start|stop|status>" }, 404);
    const current = campaigns.get(identity);
    if (action === "start" && request.method === "POST") {
      if (current !== undefined) return json({ error: `${identity} is already running` }, 409);
      const settings = (await request.json()) as EdgeSettings;
      const cluster = kubernetes.cluster({ server: settings.server, token: settings.token, namespace: settings.namespace });
      campaigns.set(identity, campaign(core, kubernetes.leaseLock(cluster, { name: settings.lease }), { ...settings, identity }));
      return json({ started: identity });
    }
    if (action === "stop" && request.method === "POST") {
      if (current === undefined) return json({ error: "not running" }, 409);
      await current.stop();
      campaigns.delete(identity);
      return json({ stopped: identity, errors: current.errors });
    }
    if (action === "status" && request.method === "GET") {
      return json({ running: current !== undefined, leader: current?.isLeader() ?? false, errors: current?.errors ?? [] });
    }
    return json({ error: `no route ${request.method} ${new URL(request.url).pathname}` }, 404);
  };
};
