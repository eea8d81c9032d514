/**
 * The Kubernetes end-to-end subset that runs on every runtime of the matrix: an in-cluster Lease
 * election against the real test cluster, with the cluster's CA trusted through the runtime's own
 * mechanism (node:http2, Node's default transport; `Deno.createHttpClient`; Bun's `tls` fetch option), and a
 * handover to a follower that learns of the release from its watch.
 *
 * It imports tenure by its own name, so `tenure/kubernetes` resolves through package.json's export
 * conditions exactly as in a user's project (this needs the built dist/; the matrix builds it).
 * On Deno it runs a second time on the `.ts` sources that deno.json exports to JSR.
 *
 * Portable on purpose: node:test, node:assert, node:fs and fetch only, no runtime's own API.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type * as Core from "../../src/index.ts";
import type * as Kubernetes from "../../adapters/kubernetes/entry-web.ts";
import { type Sandbox, sandbox } from "./sandbox.ts";

const RUNTIME: "deno" | "bun" | "node" = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

interface Variant {
  readonly name: string;
  /** What `tenure/kubernetes` must resolve to, if it is resolved by name. */
  readonly entry?: { readonly specifier: string; readonly file: RegExp };
  load(): Promise<{ core: typeof Core; kubernetes: typeof Kubernetes }>;
}

// Specifiers in variables: type-checking this file must not need dist/ (it is built later).
const PACKAGE = "tenure";
const PACKAGE_KUBERNETES = "tenure/kubernetes";

const variants: Variant[] = [
  {
    name: `the npm package on ${RUNTIME} (tenure/kubernetes by export condition "${RUNTIME}")`,
    entry: { specifier: PACKAGE_KUBERNETES, file: new RegExp(`/dist/adapters/kubernetes/entry-${RUNTIME}\\.js$`) },
    load: async () => ({
      core: (await import(PACKAGE)) as typeof Core,
      kubernetes: (await import(PACKAGE_KUBERNETES)) as typeof Kubernetes,
    }),
  },
];
if (RUNTIME === "deno") {
  variants.push({
    name: "the JSR package on deno (the .ts sources that deno.json exports)",
    load: async () => {
      const root = new URL("../../", import.meta.url);
      const { exports } = JSON.parse(await readFile(new URL("deno.json", root), "utf8")) as { exports: Record<string, string> };
      return {
        core: (await import(new URL(exports["."]!, root).href)) as typeof Core,
        kubernetes: (await import(new URL(exports["./kubernetes"]!, root).href)) as typeof Kubernetes,
      };
    },
  });
}

interface Contender {
  readonly elector: Core.Elector;
  readonly controller: AbortController;
  readonly started: Promise<Core.Term>;
  readonly leaders: string[];
  readonly errors: Core.LockError[];
  readonly stopped: () => boolean;
  readonly done: Promise<unknown>;
}

const contend = (core: typeof Core, lock: Core.Lock, identity: string): Contender => {
  const controller = new AbortController();
  const leaders: string[] = [];
  const errors: Core.LockError[] = [];
  let stopped = false;
  let started!: (term: Core.Term) => void;
  const elector = core.createElector({
    lock,
    identity,
    // Long enough that a follower that polled instead of watching could not take over within the
    // test's limit: its next attempt would come retryPeriod (10 s) or more after its first.
    leaseDuration: 30_000,
    renewDeadline: 20_000,
    retryPeriod: 10_000,
    releaseOnCancel: true,
    onStartedLeading: (signal, term) => {
      started(term);
      return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    },
    onStoppedLeading: () => void (stopped = true),
    onNewLeader: (leader) => void leaders.push(leader),
    onError: (error) => void errors.push(error),
  });
  return {
    elector,
    controller,
    started: new Promise((resolve) => (started = resolve)),
    leaders,
    errors,
    stopped: () => stopped,
    done: elector.run(controller.signal).catch((error: unknown) => error),
  };
};

/** `promise`, or a failure after `ms` that says what did not happen and what the electors heard. */
const within = <T>(ms: number, what: string, promise: Promise<T>, ...heard: Contender[]): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const errors = (): string => heard.flatMap((c) => c.errors.map((e) => e.message)).join("; ") || "none";
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms (errors: ${errors()})`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
};

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

for (const variant of variants) {
  describe(variant.name, () => {
    let box!: Sandbox;
    before(async () => void (box = await sandbox(`rt-${RUNTIME}`)));
    after(() => box?.dispose());

    if (variant.entry !== undefined) {
      const { specifier, file } = variant.entry;
      it(`resolves ${specifier} to this runtime's transport`, () => {
        assert.match(import.meta.resolve(specifier), file);
      });
    }

    it("does not trust the cluster's CA by any global means (the transport has to)", async () => {
      await assert.rejects(fetch(`https://${box.serviceHost}:${box.servicePort}/version`));
    });

    it("elects with the pod's service account; a released Lease passes to the watching follower at once", async () => {
      const { core, kubernetes } = await variant.load();
      // What a pod's environment says; inCluster() reads token, ca.crt and namespace from the folder.
      process.env["KUBERNETES_SERVICE_HOST"] = box.serviceHost;
      process.env["KUBERNETES_SERVICE_PORT"] = box.servicePort;
      const cluster = await kubernetes.inCluster({ serviceAccountDir: box.serviceAccountDir });
      assert.equal(cluster.namespace, box.namespace);
      const lock = kubernetes.leaseLock(cluster, { name: "matrix" });

      const a = contend(core, lock, `${RUNTIME}-a`);
      assert.equal((await within(10_000, "a leads", a.started, a)).transitions, 0);
      const held = await box.lease("matrix");
      assert.equal(held.spec.holderIdentity, `${RUNTIME}-a`);
      assert.equal(held.spec.leaseDurationSeconds, 30);
      assert.match(held.spec.renewTime, MICRO_TIME);

      const b = contend(core, lock, `${RUNTIME}-b`);
      assert.ok(await waitFor(() => b.leaders.includes(`${RUNTIME}-a`)), "b sees a lead");
      assert.equal(b.elector.isLeader(), false);

      const released = performance.now();
      a.controller.abort();
      assert.equal(await a.done, undefined);
      assert.equal(a.stopped(), true);
      const term = await within(3_000, "b takes over the released Lease (a polling follower would need 10 s or more)", b.started, a, b);
      const handover = performance.now() - released;
      assert.equal(term.transitions, 1);
      const taken = await box.lease("matrix");
      assert.equal(taken.spec.holderIdentity, `${RUNTIME}-b`);
      assert.equal(taken.spec.leaseTransitions, 1);
      assert.match(taken.spec.acquireTime, MICRO_TIME);

      b.controller.abort();
      assert.equal(await b.done, undefined);
      assert.equal((await box.lease("matrix")).spec.holderIdentity, "");
      assert.deepEqual([...a.errors, ...b.errors].map((e) => e.message), []);
      console.log(`${RUNTIME}: handover after release in ${handover.toFixed(0)} ms`);
    });
  });
}

const waitFor = async (check: () => boolean, limit = 10_000): Promise<boolean> => {
  const end = performance.now() + limit;
  while (!check() && performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 10));
  return check();
};
