/**
 * One request through the `fetch` seam: a 401 re-reads the token and retries once, `Warning`
 * headers are reported once, answers are capped in bytes, and a stream cut midway says so.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLockError, type LockEvent } from "../../../src/lock.ts";
import { leaseLock } from "../../../adapters/kubernetes/lease-lock.ts";
import { fileTokenCredentials } from "../../../adapters/kubernetes/token-file.ts";
import { cutStream, fakeApi, json, lease, SERVER, signal, status } from "./fake-api.ts";

/** A token file that holds `t1` until rotated, counting reads. */
const rotatingToken = () => {
  const state = { token: "t1", reads: 0 };
  const credentials = fileTokenCredentials("/sa/token", async () => (state.reads++, state.token));
  return { state, credentials };
};

const streamOf = (text: string): ReadableStream<Uint8Array> => new Response(text).body!;

describe("a 401", () => {
  it("re-reads the token and retries once with the new one", async () => {
    const token = rotatingToken();
    const api = fakeApi([
      () => ((token.state.token = "t2"), status(401, "Unauthorized")),
      () => json(200, lease("pod-a", "7")),
    ], { credentials: token.credentials });
    const observed = await leaseLock(api.cluster, { name: "lock" }).get(signal());
    assert.equal(observed.record.holderIdentity, "pod-a");
    assert.deepEqual(api.sent.map((s) => s.headers.get("authorization")), ["Bearer t1", "Bearer t2"]);
    assert.equal(token.state.reads, 2);
  });

  it("twice in a row is an Unauthorized LockError, after exactly one retry", async () => {
    const token = rotatingToken();
    const api = fakeApi([() => status(401, "Unauthorized"), () => status(401, "Unauthorized")], { credentials: token.credentials });
    await assert.rejects(leaseLock(api.cluster, { name: "lock" }).get(signal()), (error: unknown) => {
      assert.ok(isLockError(error));
      assert.equal(error.reason, "Unauthorized");
      assert.equal(error.status, 401);
      assert.match(error.message, /^get leases\.coordination\.k8s\.io ns\/lock: HTTP 401 Unauthorized: .*The token may have expired/);
      return true;
    });
    assert.equal(api.sent.length, 2);
  });

  it("without credentials is not retried", async () => {
    const api = fakeApi([() => status(401, "Unauthorized")]);
    await assert.rejects(leaseLock(api.cluster, { name: "lock" }).get(signal()), { reason: "Unauthorized" });
    assert.equal(api.sent.length, 1);
    assert.equal(api.sent[0]!.headers.get("authorization"), null);
  });
});

describe("Warning headers", () => {
  it("are reported once per distinct text, unquoted and unescaped", async () => {
    const warning = '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice", 299 - "a \\"quoted\\" word"';
    const api = fakeApi([
      () => json(200, lease("pod-a", "7"), { warning }),
      () => json(200, lease("pod-a", "8"), { warning }),
    ]);
    const lock = leaseLock(api.cluster, { name: "lock" });
    await lock.get(signal());
    await lock.get(signal());
    assert.deepEqual(api.warnings, [
      "the API server warns: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice",
      'the API server warns: a "quoted" word',
    ]);
  });

  it("on a failed answer are reported too", async () => {
    const api = fakeApi([() => new Response("{}", { status: 500, headers: { warning: '299 - "careful"' } })]);
    await assert.rejects(leaseLock(api.cluster, { name: "lock" }).get(signal()), { reason: "ServerError" });
    assert.deepEqual(api.warnings, ["the API server warns: careful"]);
  });
});

describe("the response cap", () => {
  // 300 two-byte characters: about 500 characters of JSON, but more than 700 bytes.
  const wide = JSON.stringify(lease("é".repeat(300), "7"));
  const bytes = new TextEncoder().encode(wide).length;

  it("counts bytes, not characters", async () => {
    assert.ok(wide.length < 700 && bytes > 700, `fixture: ${wide.length} characters, ${bytes} bytes`);
    const api = fakeApi([() => new Response(streamOf(wide))], { maxResponseBytes: 700 });
    await assert.rejects(leaseLock(api.cluster, { name: "lock" }).get(signal()), (error: unknown) =>
      isLockError(error) && error.reason === "Decode" && /larger than 700 bytes \(maxResponseBytes\)/.test(error.message));
  });

  it("lets an answer of exactly the cap through", async () => {
    const api = fakeApi([() => new Response(streamOf(wide))], { maxResponseBytes: bytes });
    assert.equal((await leaseLock(api.cluster, { name: "lock" }).get(signal())).record.holderIdentity, "é".repeat(300));
  });

  it("counts bytes in watch events too", async () => {
    const event = `${JSON.stringify({ type: "MODIFIED", object: lease("é".repeat(300), "8") })}\n`;
    const eventBytes = new TextEncoder().encode(event).length;
    // Split in two, so the line is only complete in the second chunk.
    const half = event.indexOf("é") + 150;
    const firstBytes = new TextEncoder().encode(event.slice(0, half)).length;
    const watch = async (max: number): Promise<string[]> => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(event.slice(0, half)));
          controller.enqueue(new TextEncoder().encode(event.slice(half)));
          controller.close();
        },
      });
      const api = fakeApi([() => new Response(body)], { maxResponseBytes: max });
      const holders: string[] = [];
      for await (const e of await leaseLock(api.cluster, { name: "lock" }).watch!(undefined, signal())) {
        if (e._tag === "changed") holders.push(e.snapshot.record.holderIdentity);
      }
      return holders;
    };
    assert.ok(half < firstBytes - 1, `fixture: the first chunk has ${half} characters, ${firstBytes} bytes`);
    assert.deepEqual(await watch(eventBytes), ["é".repeat(300)]);
    await assert.rejects(watch(firstBytes - 1), new RegExp(`larger than ${firstBytes - 1} bytes`));
  });
});

describe("a watch stream cut in the middle", () => {
  it("says the connection to the server broke while reading, naming the server", async () => {
    const event = JSON.stringify({ type: "MODIFIED", object: lease("pod-a", "8") });
    const api = fakeApi([() => new Response(cutStream([`${event}\n`, '{"type":"MODI']))]);
    const seen: LockEvent[] = [];
    const error = await (async () => {
      for await (const e of await leaseLock(api.cluster, { name: "lock" }).watch!(undefined, signal())) seen.push(e);
    })().then(() => undefined, (e: unknown) => e);
    assert.equal(seen.length, 1, "the event before the cut arrives");
    assert.ok(isLockError(error), `not a LockError: ${String(error)}`);
    assert.equal(error.reason, "Network");
    assert.ok(!error.message.includes("could not reach"), error.message);
    assert.ok(error.message.includes(SERVER), error.message);
    assert.match(error.message, /^watch leases\.coordination\.k8s\.io ns\/lock: the connection to https:\/\/kube\.test:6443 broke while reading the answer \(ECONNRESET: read ECONNRESET\)/);
  });

  it("while reading a plain answer says the same", async () => {
    const api = fakeApi([() => new Response(cutStream(['{"kind":"Lea']))]);
    await assert.rejects(leaseLock(api.cluster, { name: "lock" }).get(signal()), (error: unknown) =>
      isLockError(error) && error.reason === "Network" && /^get leases\.coordination\.k8s\.io ns\/lock: the connection to https:\/\/kube\.test:6443 broke while reading the answer/.test(error.message));
  });
});
