/**
 * `rejoin: true` against a real kube-apiserver + etcd: a leader whose network is cut for longer
 * than leaseDuration loses its term, comes back as a follower of the one that took over, and leads
 * again (a new term, a new signal) once that one steps down; `run` goes on throughout.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { contend, eventually, FAST, kube, podCluster, readLease, sandbox, sleep, when } from "./support.ts";
import { tcpProxy } from "./tcp-proxy.ts";

describe("rejoin after loss (real cluster)", () => {
  it("a leader cut off for longer than leaseDuration comes back as a follower, and later leads again", async () => {
    const box = await sandbox("rejoin");
    const pod = await podCluster(box);
    const proxy = await tcpProxy(kube.server);
    try {
      const a = contend("pod-a", leaseLock({ ...pod, server: proxy.url }, { name: "lock" }), { rejoin: true, releaseOnCancel: true });
      assert.ok(await eventually(() => a.elector.isLeader()));
      const b = contend("pod-b", leaseLock(pod, { name: "lock" }), { rejoin: true, releaseOnCancel: true });
      await sleep(1_000);
      assert.ok(a.elector.isLeader() && !b.elector.isLeader());

      proxy.cut();
      const cutAt = performance.now();
      assert.ok(await eventually(() => b.elector.isLeader(), 3 * FAST.leaseDuration), "b takes over");
      const takeover = when(b, "started")! - cutAt;
      assert.ok(when(a, "signal aborted")! < when(b, "started")!, "a stopped acting before b began");
      assert.equal(a.elector.isLeader(), false);
      assert.equal(a.elector.term, undefined);
      // Cut for longer than leaseDuration, and a little more.
      await sleep(Math.max(0, FAST.leaseDuration + 1_000 - (performance.now() - cutAt)));
      proxy.heal();
      const healedAt = performance.now();

      assert.ok(await eventually(() => a.events.some(([, e]) => e === "leader pod-b"), 10_000), "a follows b");
      const followed = a.events.find(([, e]) => e === "leader pod-b")![0] - healedAt;
      await sleep(2 * FAST.leaseDuration);
      assert.equal(a.elector.isLeader(), false, "a stays a follower while b renews");
      assert.ok(b.elector.isLeader());
      assert.equal(a.elector.leader(), "pod-b");
      assert.equal(a.elector.check(), undefined);
      assert.equal(a.elector.metrics().masterStatus, 0);

      const releasedAt = performance.now();
      b.controller.abort();
      await b.done;
      assert.ok(await eventually(() => a.elector.isLeader(), 5_000), "a leads again once b has stepped down");
      const again = a.events.filter(([, e]) => e === "started").at(-1)![0] - releasedAt;
      assert.deepEqual(a.terms.map((t) => t.transitions), [0, 2], "a fresh term");
      assert.notEqual(a.terms[1]!.acquireTime, a.terms[0]!.acquireTime);
      assert.deepEqual(a.elector.term, a.terms[1]);
      assert.equal(a.elector.metrics().masterStatus, 1);
      const lease = await readLease(box.namespace, "lock");
      assert.equal(lease.spec.holderIdentity, "pod-a");
      assert.equal(lease.spec.leaseTransitions, 2);
      assert.equal(a.events.filter(([, e]) => e === "stopped").length, 0, "run went on throughout");
      console.log(
        `rejoin on a real cluster (LD ${FAST.leaseDuration} ms): b took over ${takeover.toFixed(0)} ms after the cut; ` +
          `a followed ${followed.toFixed(0)} ms after healing; led again ${again.toFixed(0)} ms after b was stopped`,
      );

      a.controller.abort();
      await a.done;
      assert.equal(a.events.filter(([, e]) => e === "stopped").length, 1);
      assert.equal((await readLease(box.namespace, "lock")).spec.holderIdentity, "", "released at the end");
    } finally {
      await proxy.close();
    }
  });
});
