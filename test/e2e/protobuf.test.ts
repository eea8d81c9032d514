/**
 * A Lease lock reads Leases in protobuf (issue #9's slow link), which carries no ownerReferences,
 * finalizers or managedFields as tenure reads it: with client-go's Role (no `patch`) every write is
 * a PUT, which must not erase what others put on the Lease.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Cluster, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { CLIENT_GO_RULES, contend, eventually, kube, podCluster, readLease, sandbox } from "./support.ts";

/** The pod's requests: method, Accept, and the answer's Content-Type and HTTP status. */
const recording = (pod: Cluster) => {
  const seen: string[] = [];
  const fetch: Cluster["fetch"] = async (url, init) => {
    const response = await pod.fetch(url, init);
    const accept = new Headers(init.headers).get("accept");
    seen.push(`${init.method} ${url.includes("watch=true") ? "watch " : ""}${accept} -> ${response.status} ${response.headers.get("content-type")}`);
    return response;
  };
  return { cluster: { ...pod, fetch }, seen };
};

describe("a Lease read in protobuf, written with PUT", () => {
  it("an owner reference, a finalizer and an annotation on the Lease survive renews by PUT (the Lease is read again as JSON before the first)", async () => {
    const box = await sandbox("pb-put", CLIENT_GO_RULES);
    const owner = await kube.request("POST", `/api/v1/namespaces/${box.namespace}/configmaps`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "owner" } });
    assert.equal(owner.status, 201);
    const ownerReferences = [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.json.metadata.uid }];
    const path = `/apis/coordination.k8s.io/v1/namespaces/${box.namespace}/leases/lock`;
    const created = await kube.request("POST", `/apis/coordination.k8s.io/v1/namespaces/${box.namespace}/leases`, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "lock", ownerReferences, finalizers: ["example.com/keep"], annotations: { "example.com/note": "kept" } },
      spec: { holderIdentity: "", leaseDurationSeconds: 1 },
    });
    assert.equal(created.status, 201);

    const pod = recording(await podCluster(box));
    const a = contend("pod-a", leaseLock(pod.cluster, { name: "lock" }));
    try {
      assert.ok(await eventually(() => a.elector.isLeader()));
      assert.ok(await eventually(() => pod.seen.filter((s) => s.startsWith("PUT")).length >= 3, 10_000), "renews by PUT");
      assert.deepEqual(a.errors, []);
      const lease = await readLease(box.namespace, "lock");
      assert.equal(lease.spec.holderIdentity, "pod-a");
      assert.deepEqual(lease.metadata.ownerReferences, ownerReferences);
      assert.deepEqual(lease.metadata.finalizers, ["example.com/keep"]);
      assert.equal(lease.metadata.annotations["example.com/note"], "kept");

      const first = pod.seen.slice(0, pod.seen.findIndex((s) => s.startsWith("PUT")) + 1);
      assert.deepEqual(first.filter((s) => !s.includes("watch")), [
        "GET application/vnd.kubernetes.protobuf, application/json -> 200 application/vnd.kubernetes.protobuf",
        "PATCH application/vnd.kubernetes.protobuf, application/json -> 403 application/vnd.kubernetes.protobuf",
        "GET application/json -> 200 application/json",
        "PUT application/json -> 200 application/json",
      ]);
    } finally {
      a.controller.abort();
      await a.done;
      // The finalizer would hold the Lease (and its namespace) forever.
      await kube.request("PATCH", path, { metadata: { finalizers: null } });
    }
  });
});
