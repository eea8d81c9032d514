/**
 * Coordinated leader election on a real kube-apiserver with the CoordinatedLeaderElection gate on:
 * the API server's coordinator elects among tenure candidates (LeaseCandidates kept by leaseLock),
 * tenure never creates or takes over the Lease, and a leader asked to yield (preferredHolder)
 * stops its work and releases, so the coordinator hands the Lease on at once.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { coordinatedCluster, servesLeaseCandidates } from "../cluster/coordinated.ts";
import { cluster, coordinatedLeaseLock, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { runtime } from "../../adapters/runtime/node.ts";
import { ELECTION_RULES, type Contender, contend, eventually, FAST, kube as shared, sandbox, sleep, when } from "./support.ts";
import type { Lock } from "../../src/index.ts";

const gated = await coordinatedCluster();
after(() => gated.stop());

/** The README's Role for coordinated electors: Leases, and their own LeaseCandidate. */
export const COORDINATED_RULES: readonly object[] = [
  ...ELECTION_RULES,
  { apiGroups: ["coordination.k8s.io"], resources: ["leasecandidates"], verbs: ["get", "create", "update", "watch", "delete"] },
];

const podLock = async (prefix: string, name: string): Promise<{ namespace: string; lock: (emulationVersion: string) => Lock }> => {
  const box = await sandbox(prefix, COORDINATED_RULES, gated);
  const token = (await runtime.readFile(box.tokenFile)).trim();
  const kube = cluster({ server: gated.server, fetch: runtime.tlsFetch({ ca: gated.caPem }), token });
  return { namespace: box.namespace, lock: (emulationVersion) => coordinatedLeaseLock(kube, { namespace: box.namespace, name, binaryVersion: "1.9.0", emulationVersion }) };
};

const lease = async (namespace: string, name: string): Promise<any> => {
  const { status, json } = await gated.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`);
  return status === 200 ? json : undefined;
};

const candidates = async (namespace: string): Promise<string[]> =>
  ((await gated.request("GET", `/apis/coordination.k8s.io/v1beta1/namespaces/${namespace}/leasecandidates`)).json.items ?? [])
    .map((c: { metadata: { name: string } }) => c.metadata.name)
    .sort();


const stopAll = async (all: readonly Contender[]): Promise<void> => {
  for (const c of all) c.controller.abort();
  await Promise.all(all.map((c) => c.done));
};

it("without the gate: onError says the API server does not serve LeaseCandidates, and nobody leads", { skip: await servesLeaseCandidates(shared) && "the shared cluster has the gate on" }, async () => {
  const box = await sandbox("coord-off", COORDINATED_RULES);
  const token = (await runtime.readFile(box.tokenFile)).trim();
  const pod = cluster({ server: shared.server, fetch: runtime.tlsFetch({ ca: shared.caPem }), token, namespace: box.namespace });
  const a = contend("a", coordinatedLeaseLock(pod, { name: "off", binaryVersion: "1.0.0" }), FAST);
  assert.ok(await eventually(() => a.errors.length > 0));
  await sleep(2 * FAST.leaseDuration);
  a.controller.abort();
  await a.done;
  assert.equal(when(a, "started"), undefined);
  assert.match(a.errors[0]?.message ?? "", /does not serve coordination.k8s.io\/v1beta1 LeaseCandidates, so nobody coordinates: turn on CoordinatedLeaderElection/);
  assert.ok(a.errors.length <= 3, `reported with a backoff: ${a.errors.length} times in ${2 * FAST.leaseDuration} ms`);
});

describe("coordinated election (CoordinatedLeaderElection on)", () => {
  it("three candidates with different emulation versions: the coordinator makes the oldest leader; the others never write", { timeout: 60_000 }, async () => {
    const { namespace, lock } = await podLock("coord-pick", "pick");
    // rejoin: a one-shot elector's run ends when it yields, and its LeaseCandidate with it.
    const options = { ...FAST, rejoin: true };
    const all = [contend("c-130", lock("1.3.0"), options), contend("c-120", lock("1.2.0"), options), contend("c-140", lock("1.4.0"), options)];
    try {
      const leader = all[1] as Contender;
      // Whoever registered first may lead until the others have registered; then the oldest leads
      // and the first yields (and stays a candidate).
      assert.ok(await eventually(() => when(leader, "started") !== undefined, 30_000), "the oldest emulation version leads");
      const spec = (await lease(namespace, "pick")).spec;
      assert.equal(spec.holderIdentity, "c-120");
      assert.equal(spec.strategy, "OldestEmulationVersion", "the strategy the coordinator wrote is kept by tenure's writes");
      assert.equal(spec.leaseDurationSeconds, FAST.leaseDuration / 1000, "the leader writes its own leaseDuration over the coordinator's 5 s");
      assert.ok(spec.acquireTime, "tenure starts a term with an acquireTime (the coordinator writes none)");
      // The last to register may come after the oldest was picked (a loaded machine): wait for it.
      assert.ok(await eventually(async () => (await candidates(namespace)).length === 3, 10_000), `every candidate registers: ${await candidates(namespace)}`);
      assert.deepEqual(await candidates(namespace), ["c-120", "c-130", "c-140"]);
      // Renewals keep it; nobody else ever leads.
      await sleep(2 * FAST.leaseDuration);
      assert.equal((await lease(namespace, "pick")).spec.holderIdentity, "c-120");
      const since = when(leader, "started") as number;
      for (const c of all) {
        if (c === leader) continue;
        const started = when(c, "started");
        if (started !== undefined) assert.ok((when(c, "signal aborted") as number) <= since, `${c.id} stopped leading before ${leader.id} started`);
      }
      for (const c of all) assert.deepEqual(c.errors.map((e) => e.message), [], `${c.id}: no errors`);
    } finally {
      await stopAll(all);
    }
    assert.deepEqual(await candidates(namespace), [], "every LeaseCandidate is deleted when its run ends");
  });

  it("answers the coordinator's pings: with the Lease deleted, every candidate is pinged, answers, and the oldest leads again", { timeout: 60_000 }, async () => {
    const { namespace, lock } = await podLock("coord-ping", "ping");
    const all = [contend("p-130", lock("1.3.0"), { ...FAST, rejoin: true }), contend("p-120", lock("1.2.0"), { ...FAST, rejoin: true })];
    const oldest = all[1] as Contender;
    try {
      assert.ok(await eventually(() => when(oldest, "started") !== undefined, 30_000));
      // The coordinator pings only candidates that have not renewed for 5 s; they renew every 5 min.
      await sleep(6_000);
      await gated.request("DELETE", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/ping`);
      // It elects only among candidates that answered its ping (renewTime after pingTime) within 5 s.
      assert.ok(await eventually(() => oldest.terms.length === 2, 30_000), "the oldest led again after the election");
      const items = (await gated.request("GET", `/apis/coordination.k8s.io/v1beta1/namespaces/${namespace}/leasecandidates`)).json.items;
      assert.equal(items.length, 2);
      for (const c of items) {
        assert.ok(c.spec.pingTime !== undefined, `${c.metadata.name} was pinged`);
        assert.ok(c.spec.renewTime > c.spec.pingTime, `${c.metadata.name} answered: renewTime ${c.spec.renewTime} after pingTime ${c.spec.pingTime}`);
      }
      assert.equal((await lease(namespace, "ping")).spec.holderIdentity, "p-120");
    } finally {
      await stopAll(all);
    }
  });

  it("never creates the Lease, nor takes it when expired or released: only the coordinator assigns it", { timeout: 60_000 }, async () => {
    const { namespace, lock } = await podLock("coord-never", "never");
    // A Lease held by a dead holder with strategy set: an uncoordinated elector would take it after expiry.
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
    const created = await gated.request("POST", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
      metadata: { name: "never" },
      spec: { holderIdentity: "ghost", leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: 4, strategy: "OldestEmulationVersion" },
    });
    assert.equal(created.status, 201, created.text);
    const admin = leaseLock(cluster({ server: gated.server, fetch: runtime.tlsFetch({ ca: gated.caPem }), token: gated.adminToken }), { namespace, name: "never" });
    const history = new AbortController();
    const records: { holderIdentity: string; acquireTime: string | null; leaseDurationSeconds: number }[] = [];
    const recording = (async () => {
      for await (const event of await admin.watch?.(undefined, history.signal) ?? []) {
        if (event._tag === "changed") records.push(event.snapshot.record);
      }
    })().catch(() => {});
    const watcher = contend("watcher", lock("1.5.0"), FAST);
    try {
      // The coordinator sees the expired Lease and gives it to the only candidate.
      assert.ok(await eventually(() => when(watcher, "started") !== undefined, 30_000));
      const spec = (await lease(namespace, "never")).spec;
      assert.equal(spec.holderIdentity, "watcher");
      assert.equal(spec.leaseTransitions, 5, "a coordinator-assigned term counts as a transition");
      assert.equal(spec.strategy, "OldestEmulationVersion");
      history.abort();
      await recording;
      // After the ghost's record, the first change is the coordinator's: it names the holder, with its
      // 5 s and no acquireTime. An uncoordinated elector would have taken the expired Lease itself.
      assert.equal(records[0]?.holderIdentity, "ghost");
      const next = records.find((r) => r.holderIdentity !== "ghost");
      assert.deepEqual([next?.holderIdentity, next?.acquireTime, next?.leaseDurationSeconds], ["watcher", null, 5], "the coordinator assigned the expired Lease, the elector did not take it");
    } finally {
      await stopAll([watcher]);
    }
    // Deleted Lease, candidate running: nothing is created by the elector (the coordinator does it).
    const requests: string[] = [];
    const base = lock("1.5.0");
    const spy: Lock = { ...base, create: (record, signal) => (requests.push("create"), base.create(record, signal)) };
    await gated.request("DELETE", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/never`);
    const again = contend("again", spy, FAST);
    try {
      assert.ok(await eventually(() => when(again, "started") !== undefined, 30_000));
      assert.deepEqual(requests, [], "the elector never created the Lease");
      assert.equal((await lease(namespace, "never")).spec.holderIdentity, "again");
    } finally {
      await stopAll([again]);
    }
  });

  it("an older candidate joins: the leader yields at once (work stopped, Lease released) and the coordinator hands over", { timeout: 90_000 }, async () => {
    const { namespace, lock } = await podLock("coord-yield", "yield");
    const first = contend("first", lock("1.4.0"), { ...FAST, rejoin: true });
    const all = [first];
    try {
      assert.ok(await eventually(() => when(first, "started") !== undefined, 30_000));
      // Watch the Lease as the admin, to time the coordinator's preferredHolder.
      const admin = leaseLock(cluster({ server: gated.server, fetch: runtime.tlsFetch({ ca: gated.caPem }), token: gated.adminToken }), { namespace, name: "yield" });
      const stopWatch = new AbortController();
      let preferredAt: number | undefined;
      const watching = (async () => {
        for await (const event of await admin.watch?.(undefined, stopWatch.signal) ?? []) {
          if (event._tag === "changed" && event.snapshot.record.preferredHolder === "older") preferredAt ??= performance.now();
        }
      })().catch(() => {});
      const older = contend("older", lock("1.2.0"), FAST);
      all.push(older);
      assert.ok(await eventually(() => when(older, "started") !== undefined, 30_000));
      stopWatch.abort();
      await watching;
      const started = when(older, "started") as number;
      const aborted = first.events.find(([at, what]) => what === "signal aborted" && at <= started);
      assert.ok(aborted !== undefined, "the old leader's work was stopped before the new leader started");
      assert.ok(preferredAt !== undefined, "the coordinator set preferredHolder");
      console.log(`preferredHolder set → new leader started: ${(started - preferredAt).toFixed(0)} ms (tenure, in-process)`);
      // Its loss says why; the handover took neither a lease expiry nor the coordinator's 5 s re-check.
      assert.ok(started - preferredAt < FAST.leaseDuration, `handed over in ${(started - preferredAt).toFixed(0)} ms, before the old lease could even expire`);
      const spec = (await lease(namespace, "yield")).spec;
      assert.equal(spec.holderIdentity, "older");
      assert.equal(spec.preferredHolder, undefined, "the coordinator cleared preferredHolder when it reassigned");
      // With rejoin, the old leader is a candidate again and stays one.
      await sleep(FAST.leaseDuration);
      assert.equal((await lease(namespace, "yield")).spec.holderIdentity, "older");
      assert.deepEqual(await candidates(namespace), ["first", "older"]);
    } finally {
      await stopAll(all);
    }
    assert.deepEqual(await candidates(namespace), []);
  });
});
