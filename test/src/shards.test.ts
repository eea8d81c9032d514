/**
 * The sharded election in virtual time on the memory store: one list + watch per replica, no
 * request for a lease a replica follows, the cap, owner(key), and a killed replica's leases taken
 * over together within leaseDuration of its last renews.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { memoryCollection } from "../../adapters/memory.ts";
import { LockError } from "../../src/lock.ts";
import { emptyRecord } from "../../src/record.ts";
import { bucketNames, bucketOf, fnv1a64, jump, watchLeases } from "../../src/shards/index.ts";
import { Fleet, TIMING } from "../support/shard-fleet.ts";

describe("buckets", () => {
  it("names buckets as knative does: {component}.{queue}.NN-of-MM, lower case", () => {
    assert.deepEqual(bucketNames("Autoscaler", "queue", 3), ["autoscaler.queue.00-of-03", "autoscaler.queue.01-of-03", "autoscaler.queue.02-of-03"]);
    assert.equal(bucketNames("c", "q", 1000)[7], "c.q.07-of-1000");
    assert.throws(() => bucketNames("c", "q", 0), /buckets must be a whole number >= 1/);
  });

  it("hashes keys with FNV-1a 64 (the published test vectors) and jump consistent hash", () => {
    assert.equal(fnv1a64(""), 0xcbf29ce484222325n);
    assert.equal(fnv1a64("a"), 0xaf63dc4c8601ec8cn);
    assert.equal(fnv1a64("foobar"), 0x85944171f73967e8n);
    assert.equal(jump(0n, 1), 0);
    // Growing n -> n + 1 buckets moves a key only into the new bucket, and about 1/(n + 1) of them.
    const keys = Array.from({ length: 2000 }, (_, i) => `default/pod-${i}`);
    for (const n of [1, 2, 7, 10]) {
      const moved = keys.filter((k) => bucketOf(k, n) !== bucketOf(k, n + 1));
      assert.ok(moved.every((k) => bucketOf(k, n + 1) === n), `keys moved between old buckets going ${n} -> ${n + 1}`);
      assert.ok(Math.abs(moved.length / keys.length - 1 / (n + 1)) < 0.05, `${moved.length} of ${keys.length} moved going ${n} -> ${n + 1}`);
    }
    const counts = new Array<number>(10).fill(0);
    for (const k of keys) counts[bucketOf(k, 10)]!++;
    assert.ok(counts.every((c) => c > 150 && c < 250), `uneven spread: ${counts.join(" ")}`);
  });
});

describe("a sharded election on the memory store", () => {
  const names = bucketNames("ctl", "work", 12);

  it("spreads the leases within the cap, sends nothing for the leases a replica follows, and answers owner() from the watch", async () => {
    const fleet = new Fleet({ names, maxHeld: 6 });
    const replicas = [0, 1, 2].map((slot) => fleet.spawn(slot));
    assert.ok(await fleet.base.until(() => fleet.allLed(), 5_000), "all leases led within 5 s of a cold start");
    assert.deepEqual(fleet.violations(), []);
    for (const r of replicas) assert.ok(r.shards.held().length <= 6);
    await fleet.base.advance(3 * TIMING.retryPeriod); // past the cold start's races

    const from = fleet.store.operations.length;
    const held = new Map(replicas.map((r) => [r.id, new Set(r.shards.held())]));
    await fleet.base.advance(60_000);
    assert.deepEqual(fleet.violations(), []);
    for (const r of replicas) {
      assert.deepEqual(new Set(r.shards.held()), held.get(r.id), `${r.id} kept its leases`);
      const sent = fleet.requests(r.id, from);
      const followed = sent.filter((s) => s.op !== "list" && s.op !== "watch" && !held.get(r.id)?.has(s.lease));
      assert.deepEqual(followed, [], `${r.id} sent requests for leases it follows`);
      assert.ok(sent.every((s) => s.op === "update"), `${r.id} only renews: ${JSON.stringify(sent.filter((s) => s.op !== "update"))}`);
      // A renew every retryPeriod or so per lease held: 60 s / 2 s = 30, give or take a second boundary.
      const leading = held.get(r.id)?.size ?? 0;
      assert.ok(sent.length >= 25 * leading && sent.length <= 31 * leading, `${sent.length} renews of ${leading} leases in 60 s`);
    }
    // owner(): the bucket of the key, and its holder, the same from every replica.
    for (const key of ["default/a", "default/b", "kube-system/c"]) {
      const owner = replicas[0]!.shards.owner(key);
      assert.equal(owner.lease, names[bucketOf(key, names.length)]);
      const holder = replicas.find((r) => r.shards.held().includes(owner.lease))?.id;
      assert.equal(owner.holder, holder);
      for (const r of replicas) assert.deepEqual(r.shards.owner(key), owner);
    }
    for (const r of replicas) r.controller.abort();
    await fleet.base.advance(TIMING.renewDeadline);
    assert.ok(replicas.every((r) => r.ended));
  });

  it("takes a killed replica's leases over together, within leaseDuration of its last renews", async () => {
    const fleet = new Fleet({ names, maxHeld: 6 });
    const replicas = [0, 1, 2].map((slot) => fleet.spawn(slot));
    assert.ok(await fleet.base.until(() => fleet.allLed(), 5_000));
    await fleet.base.advance(10_000);
    const victim = replicas.find((r) => r.shards.held().length > 0)!;
    const orphans = victim.shards.held();
    const killedAt = fleet.base.now();
    fleet.kill(victim);
    const recovered = await fleet.base.until(() => fleet.allLed() && fleet.violations().length === 0, 30_000);
    assert.deepEqual(fleet.violations(), []);
    assert.ok(recovered, "every lease led again");
    const took = fleet.base.now() - killedAt;
    // Its last renews were at most a retryPeriod and a second boundary before the kill.
    assert.ok(took <= TIMING.leaseDuration + 50, `${orphans.length} leases taken over ${took} ms after the kill`);
    assert.ok(took >= TIMING.leaseDuration - TIMING.retryPeriod - 1000, `taken over too early: ${took} ms`);
  });

  it("never leads more than the cap; a replica at its cap follows until a slot opens", async () => {
    const fleet = new Fleet({ names, maxHeld: 5 });
    const a = fleet.spawn(0);
    assert.ok(await fleet.base.until(() => a.shards.held().length === 5, 5_000));
    await fleet.base.advance(30_000);
    assert.equal(a.shards.held().length, 5, "a lone replica leads exactly its cap");
    const b = fleet.spawn(1);
    const c = fleet.spawn(2);
    assert.ok(await fleet.base.until(() => fleet.allLed(), 10_000), "the others take the rest at once");
    assert.deepEqual(fleet.violations(), []);
    assert.deepEqual([a, b, c].map((r) => r.shards.held().length).sort(), [2, 5, 5]);
    const from = fleet.store.operations.length;
    await fleet.base.advance(10_000);
    assert.ok(fleet.requests(a.id, from).every((s) => s.op === "update" && a.shards.held().includes(s.lease)));
  });

  it("keeps leading and following when the shared watch breaks or the server forgets its resourceVersion (410)", async () => {
    const fleet = new Fleet({ names, maxHeld: 12 });
    const replicas = [0, 1].map((slot) => fleet.spawn(slot));
    assert.ok(await fleet.base.until(() => fleet.allLed(), 5_000));
    const held = replicas.map((r) => r.shards.held().length);
    const lists = fleet.store.operations.filter((o) => o.op === "list").length;
    // The API server's ERROR event with code 410: its watch cache no longer has that resourceVersion.
    fleet.store.closeWatches(new LockError("Expired", "too old resource version", { status: 410 }));
    await fleet.base.advance(5_000);
    assert.equal(fleet.store.operations.filter((o) => o.op === "list").length, lists + 2, "one new list per replica");
    fleet.store.closeWatches(new LockError("Network", "connection reset"));
    await fleet.base.advance(60_000);
    assert.deepEqual(fleet.violations(), []);
    assert.deepEqual(replicas.map((r) => r.shards.held().length), held, "nobody lost a lease");
    const from = fleet.store.operations.length;
    await fleet.base.advance(20_000);
    for (const r of replicas) {
      const followed = fleet.requests(r.id, from).filter((s) => s.op !== "watch" && s.op !== "list" && !r.shards.held().includes(s.lease));
      assert.deepEqual(followed, [], `${r.id}: back to no requests for followed leases once the watch is back`);
    }
  });

  it("keeps at most `concurrency` single-lease requests in flight; the rest wait their turn", async () => {
    const fleet = new Fleet({ names });
    const collection = memoryCollection(fleet.store, { namespace: "lanes", labels: { set: "lanes" } });
    const set = watchLeases(collection, { clock: fleet.base, concurrency: 2 });
    const locks = names.slice(0, 5).map((name) => set.lock(name));
    for (const name of names.slice(0, 5)) collection.locks.get(name)?.inject({ delay: 100 });
    const done: number[] = [];
    const record = { ...emptyRecord, holderIdentity: "x", leaseDurationSeconds: 15 };
    const writes = locks.map((lock) => lock.create(record, new AbortController().signal).then(() => done.push(fleet.base.now())));
    await fleet.base.advance(1_000);
    await Promise.all(writes);
    assert.deepEqual(done, [100, 100, 200, 200, 300]);
    // One whose signal aborts while it waits is never sent.
    const waiting = new AbortController();
    const first = set.lock(names[5]!).create(record, new AbortController().signal);
    const second = set.lock(names[6]!).create(record, new AbortController().signal);
    const third = set.lock(names[7]!).create(record, waiting.signal);
    waiting.abort(new LockError("Timeout", "gave up"));
    await assert.rejects(third, /gave up/);
    await Promise.all([first, second]);
    assert.equal(fleet.store.read("lanes", names[7]!), undefined);
    // One that waits longer than queueWait fails unsent: sent late, it could be applied after its timeout.
    const patient = watchLeases(collection, { clock: fleet.base, concurrency: 1, queueWait: 150 });
    for (const name of names.slice(8, 11)) patient.lock(name), collection.locks.get(name)?.inject({ delay: 100 });
    const outcomes = names.slice(8, 11).map((name) => patient.lock(name).create(record, new AbortController().signal).then(() => "ok", (e: LockError) => e.reason));
    await fleet.base.advance(1_000);
    assert.deepEqual(await Promise.all(outcomes), ["ok", "ok", "TooManyRequests"]);
    assert.equal(fleet.store.read("lanes", names[10]!), undefined);
  });

  it("rejects bad options with what to fix", async () => {
    const fleet = new Fleet({ names: ["a", "a"] });
    assert.throws(() => fleet.spawn(0), /the Lease name a appears twice/);
    assert.throws(() => new Fleet({ names: [] }).spawn(0), /names is empty/);
    assert.throws(() => new Fleet({ names, maxHeld: -1 }).spawn(0), /maxHeld must be a whole number >= 0/);
    assert.throws(() => new Fleet({ names, maxHeld: 1.5 }).spawn(0), /maxHeld must be a whole number >= 0/);
  });
});
