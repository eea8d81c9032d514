/**
 * The Lease lock against a real kube-apiserver + etcd: in-cluster service-account auth with only
 * the documented Role, three electors, graceful and crash failover, and the failure modes.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { type Cluster, cluster, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { formatMicroTime } from "../../src/record.ts";
import { runtime } from "../../adapters/runtime/node.ts";
import {
  adminCluster,
  CLIENT_GO_RULES,
  contend,
  cuttable,
  eventually,
  FAST,
  kube,
  podCluster,
  readLease,
  sandbox,
  sleep,
  when,
} from "./support.ts";

/** A loopback port nobody listens on. */
const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe("in-cluster Lease election", () => {
  it("acquires, renews and releases with the service account's token and only the documented Role", async () => {
    const box = await sandbox("in-cluster");
    const lock = leaseLock(await podCluster(box), { name: "lock" });
    const a = contend("pod-a", lock, { releaseOnCancel: true });
    assert.ok(await eventually(() => a.elector.isLeader()));
    const first = await readLease(box.namespace, "lock");
    await sleep(1_200);
    const renewed = await readLease(box.namespace, "lock");
    assert.equal(renewed.spec.holderIdentity, "pod-a");
    assert.equal(renewed.spec.leaseDurationSeconds, 3);
    assert.equal(renewed.spec.leaseTransitions, 0);
    assert.equal(renewed.spec.acquireTime, first.spec.acquireTime, "a renew keeps acquireTime");
    assert.notEqual(renewed.spec.renewTime, first.spec.renewTime);
    assert.match(renewed.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    a.controller.abort();
    await a.done;
    const released = await readLease(box.namespace, "lock");
    assert.equal(released.spec.holderIdentity, "");
    assert.equal(released.spec.leaseDurationSeconds, 1);
    assert.equal(released.spec.leaseTransitions, 0);
    assert.deepEqual(a.errors, []);
  });

  it("three electors: one leads; a graceful release hands over at once; a crashed leader is replaced after about leaseDuration, never before", async () => {
    const box = await sandbox("three");
    const pod = await podCluster(box);
    const nets = ["a", "b", "c"].map(() => cuttable(pod));
    const electors = nets.map((net, i) => contend(`pod-${"abc"[i]}`, leaseLock(net.cluster, { name: "lock" }), { releaseOnCancel: true }));
    const leaders = () => electors.filter((e) => e.elector.isLeader());
    assert.ok(await eventually(() => leaders().length === 1));
    for (let i = 0; i < 100; i++) {
      assert.ok(leaders().length <= 1, "never two leaders");
      await sleep(20);
    }

    // Graceful: the leader stops; its release hands over to a follower at once.
    const first = leaders()[0]!;
    const stoppedAt = performance.now();
    first.controller.abort();
    await first.done;
    assert.ok(await eventually(() => leaders().length === 1, 2_000));
    const second = leaders()[0]!;
    const handover = when(second, "started")! - stoppedAt;
    assert.ok(handover < 500, `graceful handover took ${handover.toFixed(0)} ms`);

    // Crash: the new leader's network is cut (no release); the last follower waits out the lease.
    await sleep(700);
    nets[electors.indexOf(second)]!.cut();
    const lastRenew = Date.parse((await readLease(box.namespace, "lock")).spec.renewTime);
    const third = electors.find((e) => e !== first && e !== second)!;
    assert.ok(await eventually(() => third.elector.isLeader(), 10_000));
    const takeover = Date.now() - lastRenew;
    assert.ok(takeover >= FAST.leaseDuration, `took over ${takeover} ms after the last renew: before the lease expired`);
    assert.ok(takeover < FAST.leaseDuration + 1_000, `took over ${takeover} ms after the last renew`);
    assert.ok(when(second, "signal aborted")! < when(third, "started")!, "the crashed leader stopped acting before the takeover");
    assert.equal((await readLease(box.namespace, "lock")).spec.leaseTransitions, 2);
    for (const e of electors) e.controller.abort();
    await Promise.all(electors.map((e) => e.done));
  });
});

describe("failures give clear errors and never false leadership", () => {
  it("without RBAC: Forbidden, saying which permission is missing", async () => {
    const box = await sandbox("forbidden", null);
    const a = contend("pod-a", leaseLock(await podCluster(box), { name: "lock" }));
    assert.ok(await eventually(() => a.errors.length > 0, 5_000));
    await sleep(1_000);
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.errors[0]!.reason, "Forbidden");
    assert.match(a.errors[0]!.message, new RegExp(`get leases.coordination.k8s.io ${box.namespace}/lock: HTTP 403 Forbidden: .*Grant the identity RBAC permission to get leases.coordination.k8s.io in namespace ${box.namespace}`));
    a.controller.abort();
    await a.done;
  });

  it("a wrong CA: the TLS error names the CA as the problem", async () => {
    const box = await sandbox("wrong-ca");
    await writeFile(`${box.serviceAccountDir}/ca.crt`, await readFile(kube.clientCaFile, "utf8"));
    const a = contend("pod-a", leaseLock(await podCluster(box), { name: "lock" }));
    assert.ok(await eventually(() => a.errors.length > 0, 5_000));
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.errors[0]!.reason, "Network");
    assert.match(a.errors[0]!.message, /TLS verification of https:\/\/127\.0\.0\.1:\d+ failed .*check the CA file/);
    a.controller.abort();
    await a.done;
  });

  it("an unreachable server: Network errors, retried, no leadership", async () => {
    const port = await closedPort();
    const unreachable = cluster({ server: `https://127.0.0.1:${port}`, fetch: runtime.tlsFetch({ ca: kube.caPem }), token: "x" });
    const a = contend("pod-a", leaseLock(unreachable, { namespace: "default", name: "lock" }));
    assert.ok(await eventually(() => a.errors.length >= 2, 5_000), "keeps retrying");
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.errors[0]!.reason, "Network");
    assert.match(a.errors[0]!.message, new RegExp(`could not reach https://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED`));
    a.controller.abort();
    await a.done;
  });

  it("the Lease deleted while leading: the leader re-creates it and keeps leading; followers do not jump in", async () => {
    const box = await sandbox("deleted");
    const pod = await podCluster(box);
    const a = contend("pod-a", leaseLock(pod, { name: "lock" }));
    assert.ok(await eventually(() => a.elector.isLeader()));
    const b = contend("pod-b", leaseLock(pod, { name: "lock" }));
    await sleep(800);
    const deleted = await kube.request("DELETE", `/apis/coordination.k8s.io/v1/namespaces/${box.namespace}/leases/lock`);
    assert.equal(deleted.status, 200);
    assert.ok(await eventually(async () => (await readLease(box.namespace, "lock"))?.spec?.holderIdentity === "pod-a", 3_000), "re-created");
    await sleep(FAST.leaseDuration + 500);
    assert.ok(a.elector.isLeader());
    assert.equal(b.elector.isLeader(), false);
    assert.deepEqual(a.events.filter(([, e]) => e === "started" || e === "stopped").map(([, e]) => e), ["started"]);
    for (const e of [a, b]) e.controller.abort();
    await Promise.all([a.done, b.done]);
  });

  it("labels written by an admin while leading: kept, and leadership is unaffected", async () => {
    const box = await sandbox("labels");
    const pod = await podCluster(box);
    const a = contend("pod-a", leaseLock(pod, { name: "lock", labels: { app: "tenure-test" } }));
    assert.ok(await eventually(() => a.elector.isLeader()));
    const b = contend("pod-b", leaseLock(pod, { name: "lock" }));
    for (let i = 0; i < 8; i++) {
      const patched = await kube.request("PATCH", `/apis/coordination.k8s.io/v1/namespaces/${box.namespace}/leases/lock`, {
        metadata: { labels: { [`admin-${i}`]: "yes" } },
      });
      assert.equal(patched.status, 200);
      assert.ok(a.elector.isLeader(), "still leading");
      assert.equal(b.elector.isLeader(), false);
      await sleep(400);
    }
    const lease = await readLease(box.namespace, "lock");
    assert.equal(lease.metadata.labels["admin-0"], "yes", "the admin's labels survive our renewals");
    assert.equal(lease.metadata.labels["app"], "tenure-test", "our own labels are written");
    assert.deepEqual(a.errors, []);
    for (const e of [a, b]) e.controller.abort();
    await Promise.all([a.done, b.done]);
  });
});

describe("watch-driven followers", () => {
  it("an idle follower sends nothing while it watches", async () => {
    const box = await sandbox("idle");
    const pod = await podCluster(box);
    const a = contend("pod-a", leaseLock(pod, { name: "lock" }));
    assert.ok(await eventually(() => a.elector.isLeader()));
    const net = cuttable(pod);
    const b = contend("pod-b", leaseLock(net.cluster, { name: "lock" }));
    await sleep(1_500);
    const settled = net.requests();
    await sleep(6_000);
    assert.equal(net.requests(), settled, "no requests in 6 s (12 renewals by the leader)");
    assert.ok(settled <= 3, `${settled} requests to get going (get, maybe create, watch)`);
    for (const e of [a, b]) e.controller.abort();
    await Promise.all([a.done, b.done]);
  });

  it("without permission to watch, followers poll, and still take a released Lease within a jittered retry period", async () => {
    const box = await sandbox("no-watch", [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] }]);
    const pod = await podCluster(box);
    const a = contend("pod-a", leaseLock(pod, { name: "lock" }), { releaseOnCancel: true });
    assert.ok(await eventually(() => a.elector.isLeader()));
    const b = contend("pod-b", leaseLock(pod, { name: "lock" }));
    assert.ok(await eventually(() => b.errors.some((e) => e.reason === "Forbidden"), 5_000), "the forbidden watch is reported");
    await sleep(1_000);
    const releasedAt = performance.now();
    a.controller.abort();
    await a.done;
    assert.ok(await eventually(() => b.elector.isLeader(), 5_000));
    const took = when(b, "started")! - releasedAt;
    assert.ok(took <= 2.2 * FAST.retryPeriod + 500, `took over ${took.toFixed(0)} ms after the release, by polling`);
    assert.match(b.errors.find((e) => e.reason === "Forbidden")!.message, /Grant the identity RBAC permission to watch leases\.coordination\.k8s\.io/);
    b.controller.abort();
    await b.done;
  });

  it("the admin's view and the lock agree on the record written", async () => {
    const box = await sandbox("agree");
    const lock = leaseLock(adminCluster(), { namespace: box.namespace, name: "lock" });
    const a = contend("pod-a", lock);
    assert.ok(await eventually(() => a.elector.isLeader()));
    const observed = await lock.get(AbortSignal.timeout(5_000));
    const raw = await readLease(box.namespace, "lock");
    assert.equal(observed.record.renewTime, raw.spec.renewTime);
    assert.equal(observed.record.holderIdentity, raw.spec.holderIdentity);
    a.controller.abort();
    await a.done;
  });
});

describe("what a renew sends and reads", () => {
  /** The pod's cluster, recording each request's method and JSON body. */
  const recording = (pod: Cluster) => {
    const sent: { readonly method: string; readonly body: Record<string, unknown> | undefined }[] = [];
    const fetch: typeof pod.fetch = (url, init) => {
      sent.push({ method: init.method ?? "GET", body: typeof init.body === "string" ? JSON.parse(init.body) as Record<string, unknown> : undefined });
      return pod.fetch(url, init);
    };
    return { cluster: { ...pod, fetch }, sent, of: (method: string) => sent.filter((r) => r.method === method) };
  };

  it("with patch in the Role (and no update), a renew is a merge patch of renewTime carrying the resourceVersion; a stale one is refused as a PUT would be", async () => {
    const box = await sandbox("patch", [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "patch", "watch"] }]);
    const pod = recording(await podCluster(box));
    const lock = leaseLock(pod.cluster, { name: "lock", labels: { app: "tenure-test" } });
    const a = contend("pod-a", lock);
    assert.ok(await eventually(() => a.elector.isLeader()));
    assert.ok(await eventually(() => pod.of("PATCH").length >= 3, 10_000), "renews");
    assert.ok(a.elector.isLeader(), "renews by patch alone keep the lease");
    assert.deepEqual(pod.of("PUT"), []);
    for (const { body } of pod.of("PATCH")) {
      const metadata = body?.["metadata"] as Record<string, unknown>;
      assert.equal(typeof metadata["resourceVersion"], "string", "a patch is a compare-and-swap");
      assert.equal(metadata["labels"], undefined, "labels already written are not sent again");
      assert.deepEqual(Object.keys(body?.["spec"] as object), ["renewTime"], "a renew changes renewTime alone");
    }
    a.controller.abort();
    await a.done;
    assert.deepEqual(a.errors, []);
    const held = await readLease(box.namespace, "lock");
    assert.equal(held.spec.holderIdentity, "pod-a");
    assert.equal(held.metadata.labels["app"], "tenure-test");

    // A write based on an older resourceVersion is refused with 409, after another write...
    const signal = new AbortController().signal;
    const seen = await lock.get(signal);
    const taken = await lock.update({ ...seen.record, holderIdentity: "pod-b", renewTime: formatMicroTime(Date.now()) }, seen.version, signal);
    assert.equal(taken.record.holderIdentity, "pod-b");
    await assert.rejects(lock.update({ ...seen.record, renewTime: formatMicroTime(Date.now()) }, seen.version, signal), { name: "LockError", reason: "Conflict" });
    // ...and after the Lease was deleted and created again.
    const deleted = await kube.request("DELETE", `/apis/coordination.k8s.io/v1/namespaces/${box.namespace}/leases/lock`);
    assert.equal(deleted.status, 200);
    await lock.create({ ...taken.record, holderIdentity: "pod-c" }, signal);
    await assert.rejects(lock.update({ ...taken.record, renewTime: formatMicroTime(Date.now()) }, taken.version, signal), { name: "LockError", reason: "Conflict" });
    assert.equal((await readLease(box.namespace, "lock")).spec.holderIdentity, "pod-c");
    // A field the record drops is removed, as a PUT's new spec would not have it.
    const now = await lock.get(signal);
    assert.notEqual((await readLease(box.namespace, "lock")).spec.acquireTime, undefined);
    await lock.update({ ...now.record, acquireTime: null }, now.version, signal);
    const dropped = await readLease(box.namespace, "lock");
    assert.equal(dropped.spec.acquireTime, undefined);
    assert.equal(dropped.spec.holderIdentity, "pod-c");
  });

  it("with client-go's Role (no patch): one patch is refused, then every write is a PUT that leaves managedFields out, which the API server keeps; the watch's echo of a renew needs no decoding", async () => {
    const box = await sandbox("lean-put", CLIENT_GO_RULES);
    const pod = recording(await podCluster(box));
    const lock = leaseLock(pod.cluster, { name: "lock" });
    const a = contend("pod-a", lock);
    assert.ok(await eventually(() => a.elector.isLeader()));
    const created = await readLease(box.namespace, "lock");
    assert.ok(Array.isArray(created.metadata.managedFields) && created.metadata.managedFields.length > 0, "the server records who wrote what");
    assert.ok(await eventually(() => pod.of("PUT").length >= 3, 10_000), "renews");
    assert.equal(pod.of("PATCH").length, 1, "one patch, refused");
    assert.deepEqual(a.errors, [], "the refused patch is not an error");
    for (const { body } of pod.of("PUT")) {
      const metadata = body?.["metadata"] as Record<string, unknown>;
      assert.equal(metadata["managedFields"], undefined, "a PUT sends no managedFields");
      assert.equal(metadata["uid"], undefined, "nor the uid");
      assert.equal(typeof metadata["resourceVersion"], "string", "a PUT is still a compare-and-swap");
    }
    const renewed = await readLease(box.namespace, "lock");
    assert.notEqual(renewed.metadata.resourceVersion, created.metadata.resourceVersion);
    assert.equal(renewed.metadata.uid, created.metadata.uid, "the server keeps the uid a PUT leaves out");
    assert.equal(renewed.metadata.creationTimestamp, created.metadata.creationTimestamp);
    assert.ok(Array.isArray(renewed.metadata.managedFields) && renewed.metadata.managedFields.length > 0, "the server keeps managedFields");
    assert.deepEqual(
      renewed.metadata.managedFields.map((f: { manager: string }) => f.manager).sort(),
      created.metadata.managedFields.map((f: { manager: string }) => f.manager).sort(),
    );

    a.controller.abort();
    await a.done;

    // The watch delivers our own write as the very object the PUT answered with: not parsed again.
    const signal = new AbortController();
    const before = await lock.get(signal.signal);
    const stream = await (lock.watch as NonNullable<typeof lock.watch>)(before.version, signal.signal);
    const events = stream[Symbol.asyncIterator]();
    const written = await lock.update({ ...before.record, renewTime: formatMicroTime(Date.now()) }, before.version, signal.signal);
    const echo = await events.next();
    signal.abort();
    assert.equal(echo.done, false);
    assert.equal((echo.value as { _tag: string })._tag, "changed");
    assert.equal((echo.value as { snapshot: unknown }).snapshot, written, "the echo is the object the PUT answered with");
    assert.deepEqual(a.errors, []);
  });
});
