/**
 * The legacy annotation locks (endpointsLock, configMapLock) through the `fetch` seam: the record
 * read from and written to the `control-plane.alpha.kubernetes.io/leader` annotation in client-go's
 * format, the rest of the object kept, and the server's refusals as typed errors.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLockError } from "../../../src/lock.ts";
import { emptyRecord, type LeaderElectionRecord } from "../../../src/record.ts";
import { configMapLock, endpointsLock, LEADER_ANNOTATION } from "../../../adapters/kubernetes/annotation-lock.ts";
import { fakeApi, json, SERVER, signal, status } from "./fake-api.ts";

/** What client-go v0.23 writes: whole seconds, `leaderTransitions`. */
const ANNOTATION = '{"holderIdentity":"pod-a","leaseDurationSeconds":15,"acquireTime":"2026-11-23T18:00:00Z","renewTime":"2026-11-23T18:43:06Z","leaderTransitions":3}';

const endpoints = (annotations: Record<string, string> | undefined, resourceVersion = "41"): unknown => ({
  apiVersion: "v1",
  kind: "Endpoints",
  metadata: { name: "lock", namespace: "ns", resourceVersion, uid: "u-9", ...(annotations === undefined ? {} : { annotations }) },
  subsets: [{ addresses: [{ ip: "10.0.0.7" }] }],
});

const record = (fields: Partial<LeaderElectionRecord> = {}): LeaderElectionRecord => ({
  ...emptyRecord,
  holderIdentity: "pod-b",
  leaseDurationSeconds: 10,
  acquireTime: "2026-11-23T19:00:01.999999Z",
  renewTime: "2026-11-23T19:00:05.500000Z",
  leaseTransitions: 4,
  ...fields,
});

describe("endpointsLock", () => {
  it("reads the record from the annotation, transitions from leaderTransitions", async () => {
    const api = fakeApi([() => json(200, endpoints({ [LEADER_ANNOTATION]: ANNOTATION }))]);
    const observed = await endpointsLock(api.cluster, { name: "lock" }).get(signal());
    assert.equal(api.sent[0]!.url, `${SERVER}/api/v1/namespaces/ns/endpoints/lock`);
    assert.deepEqual(observed.record, {
      holderIdentity: "pod-a",
      leaseDurationSeconds: 15,
      acquireTime: "2026-11-23T18:00:00Z",
      renewTime: "2026-11-23T18:43:06Z",
      leaseTransitions: 3,
      strategy: "",
      preferredHolder: "",
    });
  });

  it("an object without the annotation holds the empty record", async () => {
    const api = fakeApi([() => json(200, endpoints(undefined))]);
    assert.deepEqual((await endpointsLock(api.cluster, { name: "lock" }).get(signal())).record, emptyRecord);
  });

  it("updates only the annotation, in whole seconds, keeping the object's other fields and annotations", async () => {
    const api = fakeApi([
      () => json(200, endpoints({ [LEADER_ANNOTATION]: ANNOTATION, "team.example/owner": "ops" })),
      (sent) => json(200, { ...(sent.body as object), metadata: { ...(sent.body as { metadata: object }).metadata, resourceVersion: "42" } }),
    ]);
    const lock = endpointsLock(api.cluster, { name: "lock" });
    const before = await lock.get(signal());
    const after = await lock.update(record(), before.version, signal());
    const put = api.sent[1]!;
    assert.equal(put.method, "PUT");
    assert.equal(put.url, `${SERVER}/api/v1/namespaces/ns/endpoints/lock`);
    const body = put.body as { metadata: { resourceVersion: string; uid: string; annotations: Record<string, string> }; subsets: unknown };
    assert.equal(body.metadata.resourceVersion, "41", "a compare-and-swap on what was read");
    assert.equal(body.metadata.uid, undefined, "the uid is left for the server to keep (the resourceVersion is the precondition)");
    assert.deepEqual(body.subsets, [{ addresses: [{ ip: "10.0.0.7" }] }]);
    assert.equal(body.metadata.annotations["team.example/owner"], "ops");
    assert.equal(
      body.metadata.annotations[LEADER_ANNOTATION],
      '{"holderIdentity":"pod-b","leaseDurationSeconds":10,"acquireTime":"2026-11-23T19:00:01Z","renewTime":"2026-11-23T19:00:05Z","leaderTransitions":4}',
    );
    assert.equal(after.record.holderIdentity, "pod-b");
    assert.equal(after.record.renewTime, "2026-11-23T19:00:05Z");
  });

  it("a stale write is a Conflict; a create that lost the race is AlreadyExists", async () => {
    const api = fakeApi([
      () => json(200, endpoints({})),
      () => status(409, "Conflict", 'Operation cannot be fulfilled on endpoints "lock": the object has been modified'),
      () => status(409, "AlreadyExists", 'endpoints "lock" already exists'),
    ]);
    const lock = endpointsLock(api.cluster, { name: "lock" });
    const { version } = await lock.get(signal());
    await assert.rejects(lock.update(record(), version, signal()), { reason: "Conflict" });
    await assert.rejects(lock.create(record(), signal()), { reason: "AlreadyExists" });
  });

  it("a missing object is NotFound", async () => {
    const api = fakeApi([() => status(404, "NotFound", 'endpoints "lock" not found')]);
    await assert.rejects(endpointsLock(api.cluster, { name: "lock" }).get(signal()), { reason: "NotFound" });
  });

  it("an annotation that is not a record is a Decode error naming it", async () => {
    for (const text of ["not json", '{"holderIdentity":7}']) {
      const api = fakeApi([() => json(200, endpoints({ [LEADER_ANNOTATION]: text }))]);
      await assert.rejects(endpointsLock(api.cluster, { name: "lock" }).get(signal()), (error: unknown) =>
        isLockError(error) && error.reason === "Decode" && error.message.includes(`the ${LEADER_ANNOTATION} annotation of endpoints lock`));
    }
  });

  it("the server's deprecation warning for Endpoints is reported once", async () => {
    const warning = '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"';
    const api = fakeApi([() => json(200, endpoints({}), { warning }), () => json(200, endpoints({}), { warning })]);
    const lock = endpointsLock(api.cluster, { name: "lock" });
    await lock.get(signal());
    await lock.get(signal());
    assert.deepEqual(api.warnings, ["the API server warns: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"]);
  });
});

describe("configMapLock", () => {
  it("creates a ConfigMap holding only the annotation, in the lock's namespace", async () => {
    const api = fakeApi([(sent) => json(201, { ...(sent.body as object), metadata: { ...(sent.body as { metadata: object }).metadata, resourceVersion: "1", uid: "u-1" } })]);
    const observed = await configMapLock(api.cluster, { namespace: "kube-system", name: "ctrl" }).create(record({ leaseTransitions: 0 }), signal());
    const post = api.sent[0]!;
    assert.equal(post.method, "POST");
    assert.equal(post.url, `${SERVER}/api/v1/namespaces/kube-system/configmaps`);
    assert.deepEqual(post.body, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "ctrl",
        namespace: "kube-system",
        annotations: {
          [LEADER_ANNOTATION]: '{"holderIdentity":"pod-b","leaseDurationSeconds":10,"acquireTime":"2026-11-23T19:00:01Z","renewTime":"2026-11-23T19:00:05Z","leaderTransitions":0}',
        },
      },
    });
    assert.equal(observed.record.leaseTransitions, 0);
    assert.equal((observed.version as { metadata: { resourceVersion: string } }).metadata.resourceVersion, "1");
  });

  it("watches the one ConfigMap by name, from the version it was given", async () => {
    const event = { type: "MODIFIED", object: { ...(endpoints({ [LEADER_ANNOTATION]: ANNOTATION }, "43") as object), kind: "ConfigMap" } };
    const api = fakeApi([() => new Response(`${JSON.stringify(event)}\n`)]);
    const lock = configMapLock(api.cluster, { name: "lock" });
    const holders: string[] = [];
    for await (const e of await lock.watch!(endpoints({}, "42"), signal())) if (e._tag === "changed") holders.push(e.snapshot.record.holderIdentity);
    assert.deepEqual(holders, ["pod-a"]);
    const url = new URL(api.sent[0]!.url);
    assert.equal(url.pathname, "/api/v1/namespaces/ns/configmaps");
    assert.equal(url.searchParams.get("watch"), "true");
    assert.equal(url.searchParams.get("fieldSelector"), "metadata.name=lock");
    assert.equal(url.searchParams.get("resourceVersion"), "42");
  });

  it("with no namespace given or known, says to pass one", () => {
    const api = fakeApi([], { namespace: undefined });
    assert.throws(() => configMapLock(api.cluster, { name: "lock" }), /configmaps lock: no namespace given and the cluster has none; pass \{ namespace \}/);
  });
});
