/**
 * The wire edge under fuzzing: whatever the server (or a proxy) sends, decoding gives a record or
 * a typed Decode error, never a crash and never a record that was not there.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isLockError } from "../../../src/lock.ts";
import { errorOfResponse } from "../../../adapters/kubernetes/errors.ts";
import { lines, readCapped } from "../../../adapters/kubernetes/request.ts";
import { asStatus, decodeLease, decodeWatchEvent, recordOfSpec, specOfRecord } from "../../../adapters/kubernetes/wire.ts";

const RUNS = 5_000;
const action = { verb: "get", resource: "leases.coordination.k8s.io", namespace: "ns", name: "lock" } as const;
const call = { method: "GET", path: "/x", signal: new AbortController().signal, action } as const;
const cap = (maxResponseBytes: number) => ({ server: "https://kube.test", maxResponseBytes });

/** Decoding either succeeds or throws a Decode LockError; anything else is a bug. */
const decodesOrRefuses = (decode: (input: unknown) => unknown, input: unknown): unknown => {
  try {
    return decode(input);
  } catch (error) {
    assert.ok(isLockError(error), `threw a non-LockError: ${String(error)}`);
    assert.equal(error.reason, "Decode");
    return undefined;
  }
};

const microTime = fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0)), noInvalidDate: true }).map((d) =>
  d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z"),
);
const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
const spec = fc.record(
  {
    holderIdentity: fc.option(fc.string(), { nil: null }),
    leaseDurationSeconds: fc.option(int32, { nil: null }),
    acquireTime: fc.option(microTime, { nil: null }),
    renewTime: fc.option(microTime, { nil: null }),
    leaseTransitions: fc.option(int32, { nil: null }),
    strategy: fc.option(fc.string(), { nil: null }),
    preferredHolder: fc.option(fc.string(), { nil: null }),
  },
  { requiredKeys: [] },
);
const lease = fc.record({
  apiVersion: fc.constant("coordination.k8s.io/v1"),
  kind: fc.constant("Lease"),
  metadata: fc.record({ name: fc.string({ minLength: 1 }), resourceVersion: fc.nat().map(String), uid: fc.uuid() }),
  spec,
});

/** A value shaped a bit like a Lease, with any part replaced by junk. */
const mangled = fc.oneof(
  fc.anything(),
  lease.chain((l) => fc.record({ ...Object.fromEntries(Object.entries(l).map(([k, v]) => [k, fc.oneof(fc.constant(v), fc.anything())])) })),
  lease.map((l) => ({ ...l, spec: { ...l.spec, leaseDurationSeconds: "15" } })),
  lease.map((l) => ({ ...l, metadata: { ...l.metadata, name: 7 } })),
);

describe("Lease decoding", () => {
  it("keeps every field of a valid Lease exactly, MicroTimes as received", () => {
    fc.assert(
      fc.property(lease, (input) => {
        const decoded = decodeLease(input);
        const record = recordOfSpec(decoded.spec);
        assert.equal(record.holderIdentity, input.spec.holderIdentity ?? "");
        assert.equal(record.renewTime, input.spec.renewTime ?? null);
        assert.equal(record.acquireTime, input.spec.acquireTime ?? null);
        assert.equal(record.leaseDurationSeconds, input.spec.leaseDurationSeconds ?? 0);
        assert.equal(record.leaseTransitions, input.spec.leaseTransitions ?? 0);
        assert.equal(decoded.metadata.resourceVersion, input.metadata.resourceVersion);
      }),
      { numRuns: RUNS },
    );
  });

  it("refuses anything malformed with a Decode error, never a crash", () => {
    fc.assert(fc.property(mangled, (input) => void decodesOrRefuses(decodeLease, input)), { numRuns: RUNS });
  });

  it("a wrong type in the spec is refused rather than read as a record", () => {
    for (const [field, value] of [["holderIdentity", 42], ["leaseDurationSeconds", "15"], ["leaseDurationSeconds", 1.5], ["leaseTransitions", -1.5], ["renewTime", 1700000000]] as const) {
      assert.throws(() => decodeLease({ metadata: { name: "x" }, spec: { [field]: value } }), /Decode|cannot read/, field);
    }
  });

  it("spec -> record -> spec round-trips (client-go TestLeaseSpecToLeaderElectionRecordRoundTrip)", () => {
    fc.assert(
      fc.property(spec, (input) => {
        const record = recordOfSpec(input);
        assert.deepEqual(recordOfSpec(specOfRecord(record)), record);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("Status and errors", () => {
  it("any error body gives a LockError with a reason and a message, never a crash", () => {
    fc.assert(
      fc.property(fc.integer({ min: 400, max: 599 }), fc.oneof(fc.anything(), fc.string()), (status, body) => {
        const error = errorOfResponse(status, body, new Headers(), action);
        assert.ok(isLockError(error));
        assert.ok(error.message.startsWith("get leases.coordination.k8s.io ns/lock: HTTP "));
      }),
      { numRuns: RUNS },
    );
  });

  it("tells the two 409s apart by Status.reason", () => {
    const conflict = errorOfResponse(409, { kind: "Status", reason: "Conflict", code: 409, message: "modified" }, new Headers(), action);
    const exists = errorOfResponse(409, { kind: "Status", reason: "AlreadyExists", code: 409, message: "exists" }, new Headers(), action);
    const unknown = errorOfResponse(409, { kind: "Status", reason: "SomethingNew", code: 409 }, new Headers(), action);
    assert.deepEqual([conflict.reason, exists.reason, unknown.reason], ["Conflict", "AlreadyExists", "Conflict"]);
  });

  it("honours Retry-After, from the header or the Status details", () => {
    const header = errorOfResponse(429, { kind: "Status", reason: "TooManyRequests" }, new Headers({ "retry-after": "3" }), action);
    const details = errorOfResponse(429, { kind: "Status", reason: "TooManyRequests", details: { retryAfterSeconds: 5 } }, new Headers(), action);
    assert.deepEqual([header.retryAfter, details.retryAfter], [3_000, 5_000]);
  });

  it("a proxy's HTML page is not a Status", () => {
    assert.equal(asStatus("<html>502</html>"), undefined);
    assert.equal(errorOfResponse(502, "<html>502</html>", new Headers(), action).reason, "ServerError");
  });
});

describe("watch events", () => {
  const event = fc.oneof(
    lease.map((object) => ({ type: "MODIFIED", object })),
    fc.record({ type: fc.constant("ERROR"), object: fc.record({ kind: fc.constant("Status"), code: fc.integer({ min: 400, max: 599 }), reason: fc.string() }) }),
  );

  it("valid events decode; mangled ones are refused with a Decode error", () => {
    fc.assert(fc.property(event, (input) => void decodeWatchEvent(input)), { numRuns: RUNS });
    fc.assert(
      fc.property(fc.oneof(fc.anything(), event.map((e) => ({ ...e, type: "BOGUS" })), event.map((e) => ({ type: e.type }))), (input) =>
        void decodesOrRefuses(decodeWatchEvent, input)),
      { numRuns: RUNS },
    );
  });
});

/** A streamed body cut into the given chunks. */
const streamed = (chunks: readonly Uint8Array[]): Response =>
  new Response(new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  }));

const cut = (bytes: Uint8Array, at: readonly number[]): Uint8Array[] => {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    parts.push(bytes.slice(from, p));
    from = p;
  }
  return parts;
};

describe("bookmarks", () => {
  it("decodes a real API server BOOKMARK, whose object has only a resourceVersion", () => {
    const line = '{"type":"BOOKMARK","object":{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"resourceVersion":"4711","creationTimestamp":null,"annotations":{"k8s.io/initial-events-end":"true"}},"spec":{}}}';
    const event = decodeWatchEvent(JSON.parse(line));
    assert.equal(event.type, "BOOKMARK");
    assert.equal(event.object.metadata.resourceVersion, "4711");
  });
});

describe("streams and sizes", () => {
  it("splits newline-delimited events the same however the bytes are chunked, multi-byte characters included", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: "grapheme", minLength: 1 }).filter((s) => !s.includes("\n") && s.trim() === s && s !== ""), { maxLength: 8 }), fc.array(fc.nat()), async (texts, at) => {
        const bytes = new TextEncoder().encode(texts.map((t) => `${t}\n`).join(""));
        const seen: string[] = [];
        for await (const line of lines(streamed(cut(bytes, at)), cap(1 << 20), call)) seen.push(line);
        assert.deepEqual(seen, texts);
      }),
      { numRuns: 1_000 },
    );
  });

  it("a stream cut in the middle of an event is a Decode error", async () => {
    const bytes = new TextEncoder().encode('{"type":"MODIFIED"}\n{"type":"MOD');
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const line of lines(streamed([bytes]), cap(1 << 20), call)) seen.push(line);
    }, (error: unknown) => isLockError(error) && error.reason === "Decode");
    assert.deepEqual(seen, ['{"type":"MODIFIED"}']);
  });

  it("refuses oversized bodies and lines, whether declared or streamed", async () => {
    const big = new Uint8Array(2_048).fill(65);
    await assert.rejects(readCapped(streamed([big]), cap(1_024), call), /larger than 1024 bytes/);
    await assert.rejects(readCapped(new Response(big, { headers: { "content-length": "2048" } }), cap(1_024), call), /larger than 1024 bytes/);
    await assert.rejects(async () => {
      for await (const _ of lines(streamed([big]), cap(1_024), call)) void _;
    }, /larger than 1024 bytes/);
    assert.equal((await readCapped(streamed([big.slice(0, 1_024)]), cap(1_024), call)).length, 1_024);
  });
});
