/**
 * Bound service-account tokens rotate: the kubelet writes a new token into the file and the old
 * one stops working. A leader must keep leading through that without a gap.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { contend, eventually, kube, podCluster, readLease, sandbox, sleep } from "./support.ts";

const secret = async (namespace: string, name: string): Promise<string> => {
  const created = await kube.request("POST", `/api/v1/namespaces/${namespace}/secrets`, { apiVersion: "v1", kind: "Secret", metadata: { name } });
  assert.equal(created.status, 201);
  return created.json.metadata.uid as string;
};

const boundToken = async (namespace: string, name: string): Promise<string> =>
  kube.serviceAccountToken(namespace, "elector", { expirationSeconds: 3600, boundObject: { kind: "Secret", name, uid: await secret(namespace, name) } });

describe("token rotation", () => {
  it("keeps leading without a gap when the token file is replaced and the old token revoked", async () => {
    const box = await sandbox("rotation");
    const first = await boundToken(box.namespace, "token-1");
    await writeFile(box.tokenFile, first);
    const a = contend("pod-a", leaseLock(await podCluster(box), { name: "lock" }));
    assert.ok(await eventually(() => a.elector.isLeader()));

    await writeFile(box.tokenFile, await boundToken(box.namespace, "token-2"));
    assert.equal((await kube.request("DELETE", `/api/v1/namespaces/${box.namespace}/secrets/token-1`)).status, 200);

    // The API server caches token reviews for about 10 s; watch through that and beyond.
    let gaps = 0;
    const end = performance.now() + 14_000;
    while (performance.now() < end) {
      if (!a.elector.isLeader()) gaps++;
      await sleep(50);
    }
    const revoked = await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${box.namespace}/leases/lock`, undefined, first);
    assert.equal(revoked.status, 401, "the old token no longer works");
    assert.equal(gaps, 0, "leadership never lapsed");
    const before = (await readLease(box.namespace, "lock")).spec.renewTime;
    await sleep(1_000);
    assert.notEqual((await readLease(box.namespace, "lock")).spec.renewTime, before, "still renewing, with the new token");
    assert.deepEqual(a.errors.map((e) => e.message), [], "the 401 was handled by re-reading the token, not surfaced");
    a.controller.abort();
    await a.done;
  });
});
