/**
 * A Lease lock reads Kubernetes protobuf (issue #9's slow link), through the `fetch` seam, with
 * kube-apiserver's own bytes (protobuf-fixtures.ts): the same records, versions and errors as the
 * JSON path; JSON answers still read; malformed bytes a Decode LockError, never a crash; and a
 * PUT never sends back an object read from protobuf.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLockError, type LockError, type LockEvent } from "../../../src/lock.ts";
import { emptyRecord } from "../../../src/record.ts";
import { endpointsLock } from "../../../adapters/kubernetes/annotation-lock.ts";
import { leaseLock } from "../../../adapters/kubernetes/lease-lock.ts";
import { decodeProtobufLease } from "../../../adapters/kubernetes/protobuf.ts";
import { fakeApi, json, lease, signal, status } from "./fake-api.ts";
import * as F from "./protobuf-fixtures.ts";

const PROTOBUF = "application/vnd.kubernetes.protobuf";
const hex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const pb = (code: number, body: Uint8Array | string, headers: Record<string, string> = {}, type = PROTOBUF): Response =>
  new Response((typeof body === "string" ? hex(body) : body) as Uint8Array<ArrayBuffer>, { status: code, headers: { "content-type": type, ...headers } });
/** What a lock keeps of an object, without the marker symbol. */
const plain = (o: unknown): unknown => JSON.parse(JSON.stringify(o));
const withoutCreation = (o: { metadata: object }): unknown => {
  const { creationTimestamp: _, ...metadata } = o.metadata as Record<string, unknown>;
  return { ...o, metadata };
};

// A few protobuf writers, for what the cluster would not send: corrupted bytes and hand-made Statuses.
const varint = (n: number): number[] => {
  const out: number[] = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n % 128) | 128);
  return [...out, n];
};
const cat = (...parts: (Uint8Array | number[])[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const field = (n: number, v: number | string | Uint8Array): Uint8Array =>
  typeof v === "number" ? cat(varint(n * 8), varint(v)) : ((b) => cat(varint(n * 8 + 2), varint(b.length), b))(typeof v === "string" ? new TextEncoder().encode(v) : v);
const envelope = (kind: string, object: Uint8Array): Uint8Array =>
  cat(new TextEncoder().encode("k8s\0"), field(1, cat(field(1, kind === "Status" ? "v1" : "coordination.k8s.io/v1"), field(2, kind))), field(2, object));
const statusBytes = (code: number, reason: string, message: string, retryAfterSeconds?: number): Uint8Array =>
  envelope("Status", cat(field(2, "Failure"), field(3, message), field(4, reason), field(5, retryAfterSeconds === undefined ? new Uint8Array(0) : field(5, retryAfterSeconds)), field(6, code)));
const frame = (event: Uint8Array): Uint8Array => cat([event.length >>> 24, (event.length >>> 16) & 255, (event.length >>> 8) & 255, event.length & 255], event);
const watchEvent = (type: string, object: Uint8Array): Uint8Array => frame(cat(field(1, type), field(2, field(1, object))));

describe("a Lease in protobuf", () => {
  it("asks for protobuf with JSON as the fallback, and reads the same Lease as from JSON", async () => {
    const api = fakeApi([() => pb(200, F.GET_TENURE), () => json(200, F.GET_TENURE_JSON)]);
    const lock = leaseLock(api.cluster, { name: "lock" });
    const fromProtobuf = await lock.get(signal());
    const fromJson = await lock.get(signal());
    assert.deepEqual(api.sent.map((s) => s.headers.get("accept")), [`${PROTOBUF}, application/json`, `${PROTOBUF}, application/json`]);
    assert.deepEqual(fromProtobuf.record, fromJson.record);
    assert.deepEqual(plain(fromProtobuf.version), withoutCreation(F.GET_TENURE_JSON));
    assert.deepEqual(fromProtobuf.record, {
      ...emptyRecord,
      holderIdentity: "tenure-node-abcdef12",
      leaseDurationSeconds: 15,
      acquireTime: "2026-12-02T16:55:01.000042Z",
      renewTime: "2026-12-02T16:55:03.123456Z",
      leaseTransitions: 3,
    });
  });

  it("present-but-empty fields stay (holderIdentity \"\", leaseTransitions 0); absent ones stay absent", async () => {
    const api = fakeApi([() => pb(200, F.GET_BARE), () => pb(200, F.GET_EMPTY)]);
    const lock = leaseLock(api.cluster, { name: "lock" });
    const bare = plain((await lock.get(signal())).version) as { spec: object; metadata: object };
    assert.deepEqual(bare, withoutCreation(F.GET_BARE_JSON));
    assert.deepEqual(bare.spec, { holderIdentity: "", leaseTransitions: 0 });
    const empty = plain((await lock.get(signal())).version) as { spec: object; metadata: Record<string, unknown> };
    assert.deepEqual(empty.spec, {});
    // ObjectMeta's empty strings (generateName, selfLink) are on the wire but not read; no labels, no annotations.
    assert.deepEqual(Object.keys(empty.metadata).sort(), ["name", "namespace", "resourceVersion", "uid"]);
  });

  it("MicroTimes: microseconds, 6 digits, as the JSON path's strings; an empty one is null", () => {
    const time = (seconds: number, nanos: number): Uint8Array => cat(field(1, seconds), field(2, nanos));
    const renew = (t: Uint8Array): unknown => (decodeProtobufLease(envelope("Lease", cat(field(1, field(1, "x")), field(2, field(4, t))))).spec as { renewTime: unknown }).renewTime;
    assert.equal(renew(time(1764694503, 123456789)), "2025-12-02T16:55:03.123456Z");
    assert.equal(renew(time(1764694503, 999)), "2025-12-02T16:55:03.000000Z");
    assert.equal(renew(time(1764694503, 0)), "2025-12-02T16:55:03.000000Z");
    assert.equal(renew(new Uint8Array(0)), null);
    assert.throws(() => renew(time(253402300800, 0)), { reason: "Decode", message: /a time out of range/ });
    assert.throws(() => renew(time(0, 1e9)), { reason: "Decode", message: /a time out of range/ });
  });

  it("a JSON answer to the protobuf Accept (a proxy, an older server) reads as before", async () => {
    const api = fakeApi([() => json(200, lease("pod-a", "7"))]);
    assert.equal((await leaseLock(api.cluster, { name: "lock" }).get(signal())).record.holderIdentity, "pod-a");
  });

  it("a merge patch's answer in protobuf is the renewed Lease", async () => {
    const api = fakeApi([() => pb(200, F.GET_TENURE), () => pb(200, F.PATCHED)]);
    const lock = leaseLock(api.cluster, { name: "lock" });
    const before = await lock.get(signal());
    const after = await lock.update({ ...before.record, renewTime: "2026-12-02T16:55:05.000001Z" }, before.version, signal());
    assert.equal(api.sent[1]!.method, "PATCH");
    assert.equal(api.sent[1]!.headers.get("accept"), `${PROTOBUF}, application/json`);
    assert.equal(after.record.renewTime, "2026-12-02T16:55:05.000001Z");
  });

  it("an annotation lock still asks for JSON only", async () => {
    const api = fakeApi([() => json(200, { metadata: { name: "lock", resourceVersion: "1" } })]);
    await endpointsLock(api.cluster, { name: "lock" }).get(signal());
    assert.equal(api.sent[0]!.headers.get("accept"), "application/json");
  });
});

describe("errors in protobuf", () => {
  const failure = async (answer: () => Response): Promise<LockError> => {
    const api = fakeApi([answer]);
    return leaseLock(api.cluster, { name: "lock" }).get(signal()).then(() => assert.fail("no error"), (e: unknown) => {
      assert.ok(isLockError(e), String(e));
      return e;
    });
  };
  const same = (a: LockError, b: LockError): void => {
    assert.deepEqual([a.reason, a.message, a.status, a.retryAfter], [b.reason, b.message, b.status, b.retryAfter]);
  };

  for (const [name, fixture] of Object.entries({ NOT_FOUND: F.NOT_FOUND, CONFLICT: F.CONFLICT, ALREADY_EXISTS: F.ALREADY_EXISTS, INVALID: F.INVALID, FORBIDDEN: F.FORBIDDEN, TOO_LARGE_RESOURCE_VERSION: F.TOO_LARGE_RESOURCE_VERSION })) {
    it(`${name} (HTTP ${fixture.status}): the LockError the JSON Status gives`, async () => {
      const fromProtobuf = await failure(() => pb(fixture.status, fixture.protobuf));
      same(fromProtobuf, await failure(() => json(fixture.status, fixture.json)));
      assert.equal(fromProtobuf.reason, { NOT_FOUND: "NotFound", CONFLICT: "Conflict", ALREADY_EXISTS: "AlreadyExists", INVALID: "Invalid", FORBIDDEN: "Forbidden", TOO_LARGE_RESOURCE_VERSION: "Timeout" }[name]);
    });
  }

  it("Retry-After from the header or, without one, from the Status details", async () => {
    const fixture = F.TOO_LARGE_RESOURCE_VERSION;
    assert.equal((await failure(() => pb(504, fixture.protobuf, { "retry-after": "3" }))).retryAfter, 3_000);
    assert.equal((await failure(() => pb(504, fixture.protobuf))).retryAfter, 1_000);
    const throttled = await failure(() => pb(429, statusBytes(429, "TooManyRequests", "slow down", 7)));
    same(throttled, await failure(() => json(429, { kind: "Status", apiVersion: "v1", status: "Failure", message: "slow down", reason: "TooManyRequests", details: { retryAfterSeconds: 7 }, code: 429 })));
    assert.equal(throttled.retryAfter, 7_000);
    const internal = await failure(() => pb(500, statusBytes(500, "InternalError", "etcd is down")));
    same(internal, await failure(() => status(500, "InternalError", "etcd is down")));
    assert.equal(internal.reason, "ServerError");
  });

  it("a proxy's text/plain answer is told as today; a protobuf Status that cannot be read falls back to the HTTP status", async () => {
    same(await failure(() => pb(502, new TextEncoder().encode("Bad Gateway"), {}, "text/plain")), await failure(() => new Response("Bad Gateway", { status: 502, headers: { "content-type": "text/plain" } })));
    const unreadable = await failure(() => pb(409, hex(F.CONFLICT.protobuf).subarray(0, 40)));
    assert.equal(unreadable.reason, "Conflict");
    assert.match(unreadable.message, /an unreadable protobuf Status/);
  });
});

describe("malformed protobuf", () => {
  const tenure = hex(F.GET_TENURE);
  const decodeError = (b: Uint8Array, message: RegExp): void => {
    assert.throws(() => decodeProtobufLease(b), (e: unknown) => isLockError(e) && e.reason === "Decode" && message.test(e.message));
  };

  it("each kind of damage is a Decode LockError that says what", () => {
    decodeError(cat([0x6a], tenure.subarray(1)), /no "k8s\\0"/);
    decodeError(hex(F.NOT_FOUND.protobuf), /a Status where a Lease was expected/);
    decodeError(envelope("Lease", cat(varint(8), Array(10).fill(0xff), [1])), /a varint longer than 10 bytes/);
    decodeError(envelope("Lease", cat(varint(10), varint(200), [1, 2, 3])), /a length runs past its end/);
    decodeError(envelope("Lease", field(2, field(1, 5))), /field 1 has the wrong wire type/);
    decodeError(envelope("Lease", field(2, field(2, "15"))), /field 2 has the wrong wire type/);
    decodeError(envelope("Lease", cat(varint(2 * 8 + 3))), /wire type 3/);
    decodeError(envelope("Lease", cat(varint(1 * 8 + 1), [1, 2])), /cut short/);
    decodeError(tenure.subarray(0, tenure.length - 60), /past its end/);
  });

  it("every truncation and every single-byte change is a Decode LockError or a Lease, never another exception", () => {
    let refused = 0;
    const tryDecode = (b: Uint8Array): void => {
      try {
        decodeProtobufLease(b);
      } catch (e) {
        assert.ok(isLockError(e) && e.reason === "Decode", `${String(e)} for ${Buffer.from(b).toString("hex")}`);
        refused++;
      }
    };
    for (let n = 0; n < tenure.length; n++) tryDecode(tenure.subarray(0, n));
    for (let i = 0; i < tenure.length; i++) {
      for (const value of [0x00, 0x07, 0x80, 0xff, tenure[i]! ^ 0x01]) {
        const changed = tenure.slice();
        changed[i] = value;
        tryDecode(changed);
      }
    }
    assert.ok(refused > tenure.length, `${refused} refused`);
  });

  it("a lock's get on a malformed answer rejects with the Decode error", async () => {
    const api = fakeApi([() => pb(200, tenure.subarray(0, 100))]);
    await assert.rejects(leaseLock(api.cluster, { name: "lock" }).get(signal()), { reason: "Decode" });
  });
});

describe("a watch in protobuf", () => {
  const stream = hex(F.WATCH);
  const body = (b: Uint8Array, size: number): ReadableStream<Uint8Array> => {
    let at = 0;
    return new ReadableStream({
      pull(controller) {
        if (at >= b.length) return controller.close();
        controller.enqueue(b.slice(at, (at += size)));
      },
    });
  };
  const watch = async (b: Uint8Array, size = b.length, maxResponseBytes?: number): Promise<{ seen: LockEvent[]; error: unknown; accept: string | null }> => {
    const api = fakeApi([() => new Response(body(b, size), { headers: { "content-type": `${PROTOBUF};stream=watch` } })], maxResponseBytes === undefined ? {} : { maxResponseBytes });
    const seen: LockEvent[] = [];
    const error = await (async () => {
      for await (const e of await leaseLock(api.cluster, { name: "lock" }).watch!(undefined, signal())) seen.push(e);
    })().then(() => undefined, (e: unknown) => e);
    return { seen, error, accept: api.sent[0]!.headers.get("accept") };
  };
  const summary = (events: readonly LockEvent[]): string[] =>
    events.map((e) => e._tag === "changed" ? `changed ${e.snapshot.record.holderIdentity || "-"} ${(e.snapshot.version as { metadata: { resourceVersion: string } }).metadata.resourceVersion}` : `${e._tag} ${(e.version as { metadata: { resourceVersion: string } }).metadata.resourceVersion}`);

  it("reads the API server's frames however the bytes are chunked", async () => {
    const whole = await watch(stream);
    assert.equal(whole.error, undefined);
    assert.equal(whole.accept, `${PROTOBUF}, application/json`);
    assert.deepEqual(summary(whole.seen), ["changed - 218", "changed - 219", "changed tenure-node-abcdef12 222", "changed tenure-node-abcdef12 225", "deleted 226", "progress 226"]);
    const modified = whole.seen[3]!;
    assert.equal(modified._tag === "changed" && modified.snapshot.record.renewTime, "2026-12-02T16:55:07.654321Z");
    for (const size of [1, 3, 4, 5, 100, 265]) assert.deepEqual(summary((await watch(stream, size)).seen), summary(whole.seen), `chunks of ${size}`);
  });

  it("a frame over maxResponseBytes is refused from its length, before it is read", async () => {
    const { seen, error } = await watch(stream, 1, 400);
    assert.deepEqual(summary(seen), ["changed - 218", "changed - 219"]);
    assert.ok(isLockError(error) && error.reason === "Decode" && /larger than 400 bytes \(maxResponseBytes\)/.test(error.message), String(error));
  });

  it("a stream cut in the middle of a frame, or a damaged frame, is a Decode LockError after the events before it", async () => {
    const cut = await watch(stream.subarray(0, 300));
    assert.deepEqual(summary(cut.seen), ["changed - 218"]);
    assert.ok(isLockError(cut.error) && cut.error.reason === "Decode" && /ended in the middle of an event/.test(cut.error.message), String(cut.error));
    const damaged = stream.slice();
    damaged[269 + 4 + 12] = 0x99; // in the second frame's "k8s\0"
    const bad = await watch(damaged, 50);
    assert.deepEqual(summary(bad.seen), ["changed - 218"]);
    assert.ok(isLockError(bad.error) && bad.error.reason === "Decode", String(bad.error));
    // An empty frame is an event without a type: refused, not read over and over.
    const empty = await watch(cat(stream.subarray(0, 269), [0, 0, 0, 0], stream.subarray(269)));
    assert.deepEqual(summary(empty.seen), ["changed - 218"]);
    assert.ok(isLockError(empty.error) && empty.error.reason === "Decode", String(empty.error));
    const unknownType = await watch(watchEvent("SOMETHING", hex(F.GET_TENURE)));
    assert.ok(isLockError(unknownType.error) && /a watch event of type SOMETHING/.test(unknownType.error.message), String(unknownType.error));
  });

  it("the echo of the lock's own write is known by its resourceVersion and handed back undecoded; other events are decoded", async () => {
    const api = fakeApi([
      () => pb(200, F.GET_TENURE),
      () => pb(200, F.PATCHED),
      () => new Response(body(stream, 100), { headers: { "content-type": `${PROTOBUF};stream=watch` } }),
    ]);
    const lock = leaseLock(api.cluster, { name: "lock" });
    const before = await lock.get(signal());
    const written = await lock.update({ ...before.record, renewTime: "2026-12-02T16:55:05.000001Z" }, before.version, signal());
    const seen: LockEvent[] = [];
    for await (const e of await lock.watch!(before.version, signal())) seen.push(e);
    assert.deepEqual(summary(seen).slice(2, 4), ["changed tenure-node-abcdef12 222", "changed tenure-node-abcdef12 225"]);
    assert.equal(seen[2]!._tag === "changed" && seen[2]!.snapshot, written, "the PATCH's answer itself");
    assert.notEqual(seen[3]!._tag === "changed" && seen[3]!.snapshot, written);
  });

  it("an ERROR event's Status is the LockError of its code: 410 is Expired", async () => {
    const { seen, error } = await watch(cat(stream.subarray(0, 269), watchEvent("ERROR", statusBytes(410, "Expired", "too old resource version: 1 (217)"))));
    assert.equal(seen.length, 1);
    assert.ok(isLockError(error) && error.reason === "Expired" && /too old resource version/.test(error.message), String(error));
  });
});

describe("a PUT after a protobuf read (no `patch` granted)", () => {
  const held = (resourceVersion: string) => ({
    ...(F.GET_TENURE_JSON as object),
    metadata: { ...F.GET_TENURE_JSON.metadata, resourceVersion, ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: "u-9" }], finalizers: ["example.com/keep"] },
  });
  const forbidden = () => status(403, "Forbidden", "leases.coordination.k8s.io \"lock\" is forbidden: cannot patch");

  it("reads the object again as JSON and PUTs it whole: ownerReferences and finalizers kept", async () => {
    const api = fakeApi([
      () => pb(200, F.GET_TENURE),
      forbidden,
      () => json(200, held("217")),
      (sent) => json(200, { ...(sent.body as object), metadata: { ...(sent.body as { metadata: object }).metadata, resourceVersion: "230" } }),
      () => json(200, held("230")),
    ]);
    const lock = leaseLock(api.cluster, { name: "lock" });
    const before = await lock.get(signal());
    const after = await lock.update({ ...before.record, renewTime: "2026-12-02T16:55:09.000000Z" }, before.version, signal());
    assert.deepEqual(api.sent.map((s) => `${s.method} ${s.headers.get("accept")}`), [`GET ${PROTOBUF}, application/json`, `PATCH ${PROTOBUF}, application/json`, "GET application/json", "PUT application/json"]);
    const put = api.sent[3]!.body as { metadata: Record<string, unknown>; spec: { renewTime: string } };
    assert.equal(put.metadata["resourceVersion"], "217");
    assert.deepEqual(put.metadata["ownerReferences"], held("217").metadata.ownerReferences);
    assert.deepEqual(put.metadata["finalizers"], ["example.com/keep"]);
    assert.deepEqual(put.metadata["annotations"], { note: "kept" });
    assert.equal(put.spec.renewTime, "2026-12-02T16:55:09.000000Z");
    // Patching is off: reads are JSON now, so the next PUT needs no read before it.
    await lock.get(signal());
    assert.equal(api.sent[4]!.headers.get("accept"), "application/json");
    assert.equal(after.record.renewTime, "2026-12-02T16:55:09.000000Z");
  });

  it("fails as a lost compare-and-swap (Conflict) when the object changed since the protobuf read, and PUTs nothing", async () => {
    const api = fakeApi([() => pb(200, F.GET_TENURE), forbidden, () => json(200, held("300"))]);
    const lock = leaseLock(api.cluster, { name: "lock" });
    const before = await lock.get(signal());
    await assert.rejects(lock.update(before.record, before.version, signal()), (e: unknown) =>
      isLockError(e) && e.reason === "Conflict" && /changed since it was read \(resourceVersion 217, now 300\)/.test(e.message));
    assert.equal(api.sent.length, 3);
  });

  it("an object read as JSON is PUT without a read first", async () => {
    const api = fakeApi([
      () => json(200, held("217")),
      forbidden,
      (sent) => json(200, sent.body),
    ]);
    const lock = leaseLock(api.cluster, { name: "lock" });
    const before = await lock.get(signal());
    await lock.update(before.record, before.version, signal());
    assert.deepEqual(api.sent.map((s) => s.method), ["GET", "PATCH", "PUT"]);
  });
});
