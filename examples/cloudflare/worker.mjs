// A Cloudflare Worker that takes part in a Kubernetes leader election, beside the pods of examples/node:
// the elector lives in a Durable Object (one instance, reachable by name, kept in memory by its alarm).
// POST /start campaigns, POST /stop releases the Lease and stops, GET / says who leads.
//
// Bindings: KUBERNETES_SERVER (https://..., a certificate that Workers trust: hosted Workers cannot
// trust a private cluster CA), KUBERNETES_TOKEN (a secret: a ServiceAccount token allowed to get,
// create, update and watch leases), KUBERNETES_NAMESPACE, LEASE_NAME, and ELECTOR, the Durable Object
// namespace of class Elector. Bundle with any bundler (tenure/kubernetes resolves to its `default`,
// fetch-only build); test/edge runs this file in workerd against a real API server.
import { DurableObject } from "cloudflare:workers";
import { createElector } from "tenure";
import { cluster, leaseLock } from "tenure/kubernetes";

// The alarm is an incoming event: without one for 70-140 s an object is evicted, pending fetches
// and timers notwithstanding. After an eviction or a deployment it starts a new campaign.
const HEARTBEAT_MS = 30_000;

export class Elector extends DurableObject {
  #campaign; // { elector, stop: AbortController, done: Promise } while campaigning

  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (request.method === "POST" && pathname === "/start") {
      await this.ctx.storage.put("campaigning", true);
      await this.ctx.storage.setAlarm(Date.now() + HEARTBEAT_MS);
      this.#start();
      return new Response("campaigning\n");
    }
    if (request.method === "POST" && pathname === "/stop") {
      await this.ctx.storage.delete("campaigning"); // before the release: no alarm may restart it
      await this.ctx.storage.deleteAlarm();
      const campaign = this.#campaign;
      campaign?.stop.abort(); // a leader stops its work, then releases the Lease
      await campaign?.done;
      return new Response("stopped\n");
    }
    const elector = this.#campaign?.elector;
    return Response.json({ campaigning: elector !== undefined, leading: elector?.isLeader() ?? false, leader: elector?.leader() ?? null });
  }

  async alarm() {
    if (!(await this.ctx.storage.get("campaigning"))) return;
    this.#start();
    await this.ctx.storage.setAlarm(Date.now() + HEARTBEAT_MS);
  }

  #start() {
    if (this.#campaign !== undefined) return;
    const { KUBERNETES_SERVER, KUBERNETES_TOKEN, KUBERNETES_NAMESPACE, LEASE_NAME } = this.env;
    const identity = `worker-${crypto.randomUUID()}`; // unique per campaign
    const elector = createElector({
      lock: leaseLock(cluster({ server: KUBERNETES_SERVER, token: KUBERNETES_TOKEN, namespace: KUBERNETES_NAMESPACE }), { name: LEASE_NAME }),
      identity,
      releaseOnCancel: true,
      onStartedLeading: async (signal, term) => {
        console.log(`${identity}: leading (term ${term.transitions})`);
        // The work goes here, and must stop when `signal` aborts. Hosted Workers' clocks stand still
        // during CPU work: after a long computation, await any I/O before trusting isLeader().
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      },
      onStoppedLeading: () => console.log(`${identity}: stopped leading`),
      onError: (error) => console.warn(error.message),
    });
    const stop = new AbortController();
    // Leadership lost without a stop ends the campaign (one-shot); the next alarm starts another.
    const done = elector
      .run(stop.signal)
      .catch((error) => console.error(`${identity}: ${error}`)) // a callback threw
      .finally(() => (this.#campaign = undefined));
    this.#campaign = { elector, stop, done };
  }
}

// Every request goes to the one Elector of this Worker.
export default {
  fetch: (request, env) => env.ELECTOR.get(env.ELECTOR.idFromName("elector")).fetch(request),
};
