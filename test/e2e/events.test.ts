/**
 * Leadership Events against the real API server: opt-in on leaseLock and the legacy locks, read
 * back as `kubectl get events` lists them; a repeat is counted on the same Event (PATCH), as
 * client-go's correlator does; without permission, each failed write reaches onError once and the
 * election goes on. (Field-by-field comparison with client-go's own: test/interop/events.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cluster, configMapLock, leadershipEvents, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { runtime } from "../../adapters/runtime/node.ts";
import { contend, ELECTION_RULES, eventually, kube, leaderElectionEvents, type Sandbox, sandbox, when } from "./support.ts";

const EVENT_RULES: readonly object[] = [...ELECTION_RULES, { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] }];

const podCluster = async (box: Sandbox) =>
  cluster({ server: kube.server, fetch: runtime.tlsFetch({ ca: kube.caPem }), token: (await runtime.readFile(box.tokenFile)).trim(), namespace: box.namespace });


describe("leadership events", () => {
  it("off by default: no Event is written", async () => {
    const box = await sandbox("events-off", EVENT_RULES);
    const a = contend("a", leaseLock(await podCluster(box), { name: "off" }), { releaseOnCancel: true });
    assert.ok(await eventually(() => when(a, "started") !== undefined));
    a.controller.abort();
    await a.done;
    assert.deepEqual(await leaderElectionEvents(box.namespace), []);
  });

  it("on a Lease: became leader and stopped leading, a repeat counted on the same Event", { timeout: 60_000 }, async () => {
    const box = await sandbox("events-lease", EVENT_RULES);
    const pod = await podCluster(box);
    const lock = leaseLock(pod, { name: "lease", events: leadershipEvents(pod, { component: "my-controller", host: "node-1" }) });
    const a = contend("a", lock, { releaseOnCancel: true, rejoin: true });
    assert.ok(await eventually(() => when(a, "started") !== undefined));
    // Someone else writes the Lease: a stops leading, and takes it again once that expires.
    const { json: lease } = await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${box.namespace}/leases/lease`);
    const now = new Date().toISOString().replace(/Z$/, "000Z");
    await kube.request("PUT", `/apis/coordination.k8s.io/v1/namespaces/${box.namespace}/leases/lease`, { ...lease, spec: { ...lease.spec, holderIdentity: "x", renewTime: now } });
    assert.ok(await eventually(() => a.terms.length === 2, 20_000), "led again");
    a.controller.abort();
    await a.done;
    const events = await leaderElectionEvents(box.namespace);
    const messages = events.map((e) => `${e.message} x${e.count}`).sort();
    assert.deepEqual(messages, ["a became leader x2", "a stopped leading x2"]);
    for (const e of events) {
      assert.equal(e.type, "Normal");
      assert.deepEqual(e.source, { component: "my-controller", host: "node-1" });
      assert.equal(e.reportingComponent, "my-controller");
      assert.equal(e.reportingInstance, "node-1");
      assert.deepEqual([e.involvedObject.kind, e.involvedObject.apiVersion, e.involvedObject.name, e.involvedObject.uid], ["Lease", "coordination.k8s.io/v1", "lease", lease.metadata.uid]);
      assert.ok(e.lastTimestamp >= e.firstTimestamp);
    }
  });

  it("on a legacy lock: the involved object is the ConfigMap", async () => {
    const box = await sandbox("events-cm", [...EVENT_RULES, { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "create", "update", "watch"] }]);
    const pod = await podCluster(box);
    const a = contend("a", configMapLock(pod, { name: "cm", events: leadershipEvents(pod, { component: "legacy" }) }), { releaseOnCancel: true });
    assert.ok(await eventually(() => when(a, "started") !== undefined));
    a.controller.abort();
    await a.done;
    const events = await leaderElectionEvents(box.namespace);
    assert.deepEqual(events.map((e) => e.message).sort(), ["a became leader", "a stopped leading"]);
    for (const e of events) assert.deepEqual([e.involvedObject.kind, e.involvedObject.apiVersion, e.involvedObject.name], ["ConfigMap", "v1", "cm"]);
  });

  it("without permission: each failed write reaches onError once, the election is untouched", async () => {
    const box = await sandbox("events-forbidden", ELECTION_RULES);
    const pod = await podCluster(box);
    const a = contend("a", leaseLock(pod, { name: "denied", events: leadershipEvents(pod, { component: "c" }) }), { releaseOnCancel: true });
    assert.ok(await eventually(() => when(a, "started") !== undefined));
    assert.ok(await eventually(() => a.errors.length > 0));
    assert.ok(a.elector.isLeader());
    a.controller.abort();
    await a.done;
    assert.deepEqual(a.errors.map((e) => e.reason), ["Forbidden", "Forbidden"]);
    assert.match(a.errors[0]?.message ?? "", /create events/);
    const { json } = await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${box.namespace}/leases/denied`);
    assert.equal(json.spec.holderIdentity, "", "released as usual");
  });
});
