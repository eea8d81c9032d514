/**
 * The sharded election against a real kube-apiserver + etcd: three replicas (each its own
 * service-account client) share 24 Leases through one label-selected list + watch each, send
 * nothing for the leases they follow, stay within their cap, agree on owner(key), and take a
 * silenced replica's leases over together. (A 410 cannot be provoked on a fresh cluster, whose
 * etcd has compacted nothing: the unit suite covers it on the memory store.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { leaseCollection } from "../../adapters/kubernetes/entry-node.ts";
import { bucketNames, createShards, type Shards, watchLeases } from "../../src/shards/index.ts";
import { cuttable, eventually, podCluster, sandbox } from "./support.ts";

/** The README's Role for a sharded election: the elector's, plus `list` for the shared list. */
const SHARD_RULES: readonly object[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "list", "create", "update", "patch", "watch"] },
];
const LABELS = { "tenure.dev/shards": "e2e" };
/** Failures of the replicas' shared watches, for the messages of failed assertions. */
const watchErrors: string[] = [];
const names = bucketNames("e2e", "work", 24);
/**
 * Shorter than the defaults, long enough that a follower never judges a lease expired because the
 * e2e stage's parallel files slowed the watch: zero requests for followed leases holds only while
 * renewals reach followers within leaseDuration.
 */
const TIMING = { leaseDuration: 8_000, renewDeadline: 5_000, retryPeriod: 1_000 } as const;

interface Sent {
  readonly method: string;
  readonly lease: string | undefined;
  readonly watch: boolean;
  readonly list: boolean;
  /** Whether this replica led that lease when the request left. */
  readonly held: boolean;
}

interface Replica {
  readonly id: string;
  readonly shards: Shards;
  readonly sent: Sent[];
  readonly cut: () => void;
  readonly stop: AbortController;
  readonly done: Promise<void>;
}

const start = async (id: string, box: Awaited<ReturnType<typeof sandbox>>, maxHeld: number): Promise<Replica> => {
  const base = cuttable(await podCluster(box));
  const sent: Sent[] = [];
  let shards: Shards | undefined;
  const counted = {
    ...base.cluster,
    fetch: (url: string, init: RequestInit) => {
      const path = new URL(url).pathname;
      const lease = /\/leases\/([^/?]+)$/.exec(path)?.[1] ??
        (init.method === "POST" ? (JSON.parse(String(init.body)) as { metadata: { name: string } }).metadata.name : undefined);
      const query = new URL(url).searchParams;
      sent.push({ method: init.method ?? "GET", lease, watch: query.get("watch") === "true", list: lease === undefined && query.get("watch") !== "true", held: lease !== undefined && (shards?.held().includes(lease) ?? false) });
      return base.cluster.fetch(url, init);
    },
  };
  shards = createShards({
    leases: watchLeases(leaseCollection(counted, { labels: LABELS }), { onError: (error) => watchErrors.push(`${id}: ${error.message}`) }),
    names,
    maxHeld,
    identity: id,
    ...TIMING,
    onStartedLeading: () => {},
  });
  const stop = new AbortController();
  return { id, shards, sent, cut: base.cut, stop, done: shards.run(stop.signal) };
};

describe("a sharded election on the real API server", () => {
  it("three replicas share 24 leases over one list + watch each, with no request for a followed lease", async () => {
    const box = await sandbox("shards", SHARD_RULES);
    const replicas = await Promise.all(["a", "b", "c"].map((id) => start(id, box, 12)));
    const led = (): Map<string, string[]> => {
      const out = new Map<string, string[]>(names.map((n) => [n, []]));
      for (const r of replicas) for (const lease of r.shards.held()) out.get(lease)?.push(r.id);
      return out;
    };
    const allLedOnce = (live: readonly Replica[] = replicas): boolean =>
      names.every((n) => live.filter((r) => r.shards.held().includes(n)).length === 1);
    try {
      assert.ok(await eventually(() => allLedOnce(), 20_000), `every lease led by one replica: ${JSON.stringify([...led()])}`);
      for (const r of replicas) assert.ok(r.shards.held().length <= 12, `${r.id} within its cap`);

      // Steady state, once the cold start's last races have played out (a candidate that lost one
      // tries again within 2.2 x retryPeriod): only renews of held leases; one list and one watch
      // per replica since the start.
      await new Promise((resolve) => setTimeout(resolve, 3 * TIMING.retryPeriod));
      const marks = replicas.map((r) => r.sent.length);
      const before = replicas.map((r) => new Set(r.shards.held()));
      await new Promise((resolve) => setTimeout(resolve, TIMING.leaseDuration));
      replicas.forEach((r, i) => {
        const window = r.sent.slice(marks[i]);
        const kept = before[i]!.size === r.shards.held().length;
        assert.ok(kept, `${r.id} kept its leases`);
        assert.deepEqual(window.filter((s) => s.lease !== undefined && !s.held), [], `${r.id}: requests for leases it follows (shared watch failures: ${watchErrors.join("; ") || "none"})`);
        const renew = (s: { readonly method: string }): boolean => s.method === "PATCH" || s.method === "PUT";
        assert.ok(window.every((s) => renew(s) && s.held), `${r.id}: only renews, saw ${JSON.stringify(window.filter((s) => !renew(s)))}`);
        assert.equal(r.sent.filter((s) => s.list).length, 1, `${r.id}: one list`);
        assert.equal(r.sent.filter((s) => s.watch).length, 1, `${r.id}: one watch`);
      });

      // owner(): every replica names the same bucket and the holder that leads it.
      for (const key of ["default/a", "ns/b", "ns/c"]) {
        const owners = replicas.map((r) => r.shards.owner(key));
        const holder = replicas.find((r) => r.shards.held().includes(owners[0]!.lease))?.id;
        for (const owner of owners) assert.deepEqual(owner, { lease: owners[0]!.lease, holder });
      }

      // A replica goes silent (its network cut, as a frozen or killed process): the others take
      // all its leases over within about leaseDuration of its last renews.
      const victim = replicas.find((r) => r.shards.held().length > 0)!;
      const orphans = victim.shards.held().length;
      const survivors = replicas.filter((r) => r !== victim);
      const cutAt = performance.now();
      victim.cut();
      assert.ok(await eventually(() => allLedOnce(survivors), 3 * TIMING.leaseDuration), "the survivors lead every lease");
      const took = performance.now() - cutAt;
      console.log(`# ${orphans} leases of the silenced replica led again ${took.toFixed(0)} ms after the cut (leaseDuration ${TIMING.leaseDuration} ms)`);
      assert.ok(took >= TIMING.leaseDuration - TIMING.retryPeriod - 1000, `taken over too early: ${took} ms`);
    } finally {
      for (const r of replicas) r.stop.abort();
      await Promise.all(replicas.map((r) => r.done.catch(() => {})));
    }
  });

  it("lists an empty set, and refuses a set without labels", async () => {
    const box = await sandbox("shards-empty", SHARD_RULES);
    const collection = leaseCollection(await podCluster(box), { labels: LABELS });
    const listing = await collection.list(AbortSignal.timeout(10_000));
    assert.equal(listing.leases.size, 0);
    assert.ok(collection.revision(listing.version) > 0, "the listing's resourceVersion orders the watch");
    assert.throws(() => leaseCollection({ namespace: "x" } as never, { labels: {} }), /labels is empty/);
  });
});
