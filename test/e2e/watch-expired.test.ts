/**
 * A watch resumed from a resourceVersion the server has compacted away gets HTTP 200 and then an
 * ERROR event with code 410. Needs its own API server without a watch cache, so that etcd's
 * compaction shows through.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { systemClock } from "../../src/clock.ts";
import { isLockError, type Lock, type Snapshot } from "../../src/lock.ts";
import { keepWatching } from "../../src/watcher.ts";
import { emptyRecord, formatMicroTime } from "../../src/record.ts";
import { cluster, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { runtime } from "../../adapters/runtime/node.ts";
import { startCluster } from "../cluster/cluster.ts";
import type { TestCluster } from "../cluster/client.ts";
import { eventually } from "../support/wait.ts";

let kube: TestCluster;
let lock: Lock;
before(async () => {
  kube = await startCluster({ apiserverArgs: ["--watch-cache=false"], handleSignals: false });
  const admin = cluster({ server: kube.server, fetch: runtime.tlsFetch({ ca: kube.caPem }), token: kube.adminToken });
  lock = leaseLock(admin, { namespace: "default", name: "expiring" });
});
after(() => kube.stop());

const compactEtcd = async (): Promise<void> => {
  const range = await fetch(`${kube.etcdServer}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: "AA==" }) });
  const revision = (await range.json() as { header: { revision: string } }).header.revision;
  const compacted = await fetch(`${kube.etcdServer}/v3/kv/compaction`, { method: "POST", body: JSON.stringify({ revision, physical: true }) });
  assert.equal(compacted.status, 200);
};

const record = (holder: string) => {
  const now = formatMicroTime(Date.now());
  return { ...emptyRecord, holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: now, renewTime: now };
};

describe("watch from a compacted resourceVersion", () => {
  it("fails with Expired (410 arrives in the stream), and the watch keeper starts over from the current state", async () => {
    const signal = AbortSignal.timeout(20_000);
    const created = await lock.create(record("a"), signal);
    let last: Snapshot = created;
    for (const holder of ["b", "c", "d"]) last = await lock.update(record(holder), last.version, signal);
    await compactEtcd();

    const stream = await (lock.watch as NonNullable<Lock["watch"]>)(created.version, signal);
    await assert.rejects(async () => {
      for await (const _ of stream) void _;
    }, (error: unknown) => isLockError(error) && error.reason === "Expired" && /HTTP 410 Expired/.test(error.message));

    const seen: (string | undefined)[] = [];
    const health: boolean[] = [];
    const stop = keepWatching({ watch: (lock.watch as NonNullable<Lock["watch"]>).bind(lock) }, created.version, systemClock, 500, {
      changed: (snapshot) => seen.push(snapshot?.record.holderIdentity),
      health: (active) => health.push(active),
      failed: () => {},
    });
    try {
      assert.ok(await eventually(() => seen.includes("d"), 5_000), "the current state, after starting over");
      await lock.update(record("e"), last.version, signal);
      assert.ok(await eventually(() => seen.includes("e"), 5_000), "and changes from then on");
      assert.deepEqual(seen, ["d", "e"]);
      assert.equal(health.at(-1), true);
    } finally {
      stop();
    }
  });
});
