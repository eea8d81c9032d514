/**
 * The Worker of the edge test: each elector is a Durable Object, named by its identity.
 *
 * Why a Durable Object, and not a request that lasts as long as the term: an elector is a
 * long-lived, stateful thing that must be stopped gracefully (release) by whoever decides so, later,
 * from another request. Only a Durable Object is addressable: every request for `idFromName(x)`
 * reaches the one instance of `x`, wherever it runs, so `POST /electors/x/stop` stops the elector
 * that `POST /electors/x/start` started. A plain request's isolate cannot be reached again (the next
 * request may land in another isolate, another machine), its lifetime is the client connection's,
 * and `ctx.waitUntil` is cut 30 s after the response.
 *
 * The alarm is the object's heartbeat. An object whose timers or fetches are pending cannot
 * hibernate, but with no incoming request or event for 70-140 s Cloudflare evicts it all the same
 * (developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle), and it is shut down
 * at every deployment or runtime update, with no hook to run first. The alarm is an incoming event:
 * firing every `heartbeat` ms (default HEARTBEAT, well inside 70 s) it keeps the object resident, and
 * when the object was shut down anyway it starts a fresh campaign from the settings kept in storage:
 * a new term, as after any loss (the old instance's work died with it, and since it could not
 * release, its Lease expires as a crashed pod's does).
 *
 * Secrets come as bindings: SERVER, TOKEN (the ServiceAccount token) and NAMESPACE. The API server's
 * CA is not the Worker's business: workerd's network service trusts it (see workerd.ts).
 *
 * tenure comes in as arguments (see bundle.ts, which writes the entry that imports it from the
 * packed package), so that this file type-checks without dist/.
 *
 * @module
 */
import type * as Core from "../../src/index.ts";
import type * as Kubernetes from "../../adapters/kubernetes/entry-web.ts";
import { type Campaign, campaign, type Settings } from "./campaign.ts";
import { cpuProbe } from "./cpu-probe.ts";

export interface Env {
  readonly SERVER: string;
  readonly TOKEN: string;
  readonly NAMESPACE: string;
  readonly ELECTOR: DurableObjectNamespaceLike;
}

// The few Workers types used here, so that the test needs no @cloudflare/workers-types.
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}
export interface DurableObjectStateLike {
  readonly storage: {
    get<T>(key: string): Promise<T | undefined>;
    put(key: string, value: unknown): Promise<void>;
    delete(key: string): Promise<boolean>;
    setAlarm(at: number): Promise<void>;
    deleteAlarm(): Promise<void>;
  };
}

/** Default alarm period: well inside the 70 s after which an object without incoming events may be evicted. */
export const HEARTBEAT = 30_000;

/** What POST /electors/<identity>/start carries: the campaign's settings, and the alarm's period. */
export interface WorkerSettings extends Settings {
  readonly heartbeat?: number;
}

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** What workerd calls on a Durable Object. */
export interface DurableObjectLike {
  fetch(request: Request): Promise<Response>;
  alarm(): Promise<void>;
}

/** The Worker module's exports: the Durable Object class and the default handler. */
export interface WorkerModule {
  readonly Elector: new (state: DurableObjectStateLike, env: Env) => DurableObjectLike;
  readonly handler: { fetch(request: Request, env: Env): Promise<Response> };
}

export const worker = (core: typeof Core, kubernetes: typeof Kubernetes): WorkerModule => {
  /** One elector. Its `fetch` answers start, stop and status; its alarm keeps it alive. */
  class Elector implements DurableObjectLike {
    private readonly state: DurableObjectStateLike;
    private readonly env: Env;
    private current: Campaign | undefined;
    /** How many times the alarm fired, and how many campaigns it had to restart (shutdowns seen). */
    private alarms = 0;
    private restarts = 0;

    constructor(state: DurableObjectStateLike, env: Env) {
      this.state = state;
      this.env = env;
    }

    private begin(settings: Settings): Campaign {
      const cluster = kubernetes.cluster({ server: this.env.SERVER, token: this.env.TOKEN, namespace: this.env.NAMESPACE });
      return campaign(core, kubernetes.leaseLock(cluster, { name: settings.lease }), settings);
    }

    async fetch(request: Request): Promise<Response> {
      const action = new URL(request.url).pathname.split("/").at(-1);
      if (action === "start" && request.method === "POST") {
        if (this.current !== undefined) return json({ error: `${this.current.identity} is already running` }, 409);
        const settings = (await request.json()) as WorkerSettings;
        await this.state.storage.put("settings", settings);
        await this.state.storage.setAlarm(Date.now() + (settings.heartbeat ?? HEARTBEAT));
        this.current = this.begin(settings);
        return json({ started: settings.identity });
      }
      if (action === "stop" && request.method === "POST") {
        const current = this.current;
        if (current === undefined) return json({ error: "not running" }, 409);
        // Forget the settings first: an alarm that fires during the release must not restart it.
        await this.state.storage.delete("settings");
        await this.state.storage.deleteAlarm();
        await current.stop();
        this.current = undefined;
        return json({ stopped: current.identity, errors: current.errors, alarms: this.alarms, restarts: this.restarts });
      }
      if (action === "status" && request.method === "GET") {
        return json({ running: this.current !== undefined, leader: this.current?.isLeader() ?? false, errors: this.current?.errors ?? [], alarms: this.alarms, restarts: this.restarts });
      }
      return json({ error: `no route ${request.method} ${new URL(request.url).pathname}` }, 404);
    }

    async alarm(): Promise<void> {
      const settings = await this.state.storage.get<WorkerSettings>("settings");
      if (settings === undefined) return;
      this.alarms++;
      if (this.current === undefined) {
        this.restarts++;
        this.current = this.begin(settings);
      }
      await this.state.storage.setAlarm(Date.now() + (settings.heartbeat ?? HEARTBEAT));
    }
  }

  /**
   * `/electors/<identity>/<start|stop|status>`: routed to the Durable Object of that identity;
   * `/probe/cpu`: see cpu-probe.ts; `/probe/version`: GET /version from the API server, or the error.
   */
  const handler = {
    fetch: async (request: Request, env: Env): Promise<Response> => {
      const url = new URL(request.url);
      if (url.pathname === "/probe/cpu") return json(await cpuProbe(Number(url.searchParams.get("iterations"))));
      if (url.pathname === "/probe/version") {
        // Whether this Worker's fetch reaches the API server over TLS at all (no credentials needed).
        try {
          const response = await fetch(`${env.SERVER}/version`);
          return json({ status: response.status, body: await response.text() });
        } catch (error) {
          return json({ error: String(error) });
        }
      }
      const [, electors, identity] = url.pathname.split("/");
      if (electors !== "electors" || identity === undefined || identity === "") return json({ error: "usage: /electors/<identity>/<start|stop|status>, /probe/cpu?iterations=N, /probe/version" }, 404);
      return env.ELECTOR.get(env.ELECTOR.idFromName(identity)).fetch(request);
    },
  };

  return { Elector, handler };
};
