/**
 * The record: MicroTime formatting (the wire format the API server insists on), second-precision
 * times for the legacy records, change detection over all seven fields, and display parsing.
 *
 * Only non-negative epochs are in the contract: the elector formats the wall clock, never a time
 * before 1970.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { emptyRecord, formatMicroTime, formatSeconds, type LeaderElectionRecord, parseTime, sameRecord } from "../../src/record.ts";

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
/** 2026-11-23T18:43:06.123Z */
const T = Date.UTC(2026, 10, 23, 18, 43, 6, 123);
/** The last microsecond of year 9999, the largest time RFC3339 (and Go's MicroTime) can write. */
const LAST_MICROSECOND = 253_402_300_799_999_999n;
/** The first millisecond of year 10000. */
const YEAR_10000 = 253_402_300_800_000;

/** What formatMicroTime must print for an exact count of microseconds since the epoch. */
const expectedFor = (us: bigint): string =>
  `${new Date(Number(us / 1000n)).toISOString().slice(0, 23)}${String(us % 1000n).padStart(3, "0")}Z`;

describe("formatMicroTime", () => {
  const cases: readonly (readonly [string, number, string])[] = [
    ["epoch 0", 0, "1970-01-01T00:00:00.000000Z"],
    ["negative zero is epoch 0", -0, "1970-01-01T00:00:00.000000Z"],
    ["whole milliseconds get three zeros, not toISOString's 3 digits", T, "2026-11-23T18:43:06.123000Z"],
    ["fractional milliseconds become microseconds", T + 0.456, "2026-11-23T18:43:06.123456Z"],
    ["sub-microseconds are truncated, not rounded (0.4569 ms)", T + 0.4569, "2026-11-23T18:43:06.123456Z"],
    ["just under a whole millisecond stays in it (0.9995 ms)", T + 0.9995, "2026-11-23T18:43:06.123999Z"],
    ["half a microsecond truncates to zero", T + 0.0005, "2026-11-23T18:43:06.123000Z"],
    ["one microsecond after the epoch", 0.001, "1970-01-01T00:00:00.000001Z"],
    ["0.9 µs after the epoch truncates to zero", 0.0009, "1970-01-01T00:00:00.000000Z"],
    ["1.0009999 ms truncates to 1 ms 0 µs", 1.0009999, "1970-01-01T00:00:00.001000Z"],
    ["1.123 ms is 1123 µs (its binary value is 1.12299999…)", 1.123, "1970-01-01T00:00:00.001123Z"],
    ["586652.288 ms is 288 µs, not 287 (its binary value is …287999999…)", 586_652.288, "1970-01-01T00:09:46.652288Z"],
    ["a tenth of a nanosecond (printed 1e-7) is zero", 1e-7, "1970-01-01T00:00:00.000000Z"],
    ["the last microsecond of 2025 does not round into 2026", Date.UTC(2026, 0, 1) - 0.001, "2025-12-31T23:59:59.999999Z"],
    ["the first instant of 2026", Date.UTC(2026, 0, 1), "2026-01-01T00:00:00.000000Z"],
    ["the last microsecond of 1999", Date.UTC(1999, 11, 31, 23, 59, 59, 999) + 0.999, "1999-12-31T23:59:59.999999Z"],
    ["the first instant of 2000", Date.UTC(2000, 0, 1), "2000-01-01T00:00:00.000000Z"],
    ["a leap day", Date.UTC(2024, 1, 29, 12, 0, 0, 7) + 0.25, "2024-02-29T12:00:00.007250Z"],
    ["the day after a leap day", Date.UTC(2024, 2, 1), "2024-03-01T00:00:00.000000Z"],
    ["late in year 9999", Date.UTC(9999, 11, 31, 23, 59, 59, 999) + 0.5, "9999-12-31T23:59:59.999500Z"],
  ];
  for (const [name, epochMs, expected] of cases) {
    it(name, () => assert.equal(formatMicroTime(epochMs), expected));
  }

  it("is UTC (no offset, Z suffix), not local time", () => {
    // 2026-06-01T00:30:00Z is still May 31 west of UTC and already 02:30 in Europe.
    assert.equal(formatMicroTime(Date.UTC(2026, 5, 1, 0, 30)), "2026-06-01T00:30:00.000000Z");
  });

  it("truncates any sub-millisecond fraction given in nanoseconds (exact property, first 12 days)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 30 }), fc.integer({ min: 0, max: 999_999 }), (ms, ns) => {
        const formatted = formatMicroTime(ms + ns / 1e6);
        assert.equal(formatted.slice(0, 23), new Date(ms).toISOString().slice(0, 23));
        assert.equal(formatted.slice(23), `${String(Math.floor(ns / 1000) % 1000).padStart(3, "0")}Z`);
      }),
    );
  });

  it("writes any microsecond epoch exactly, while a double still tells microseconds apart (until 2112)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 52n - 1n }), (us) => {
        assert.equal(formatMicroTime(Number(us) / 1000), expectedFor(us));
      }),
      { numRuns: 2000 },
    );
  });

  it("property: any microsecond epoch up to 9999-12-31T23:59:59.999999 gives six digits and Z, within 1 ms", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: LAST_MICROSECOND }), (us) => {
        const epochMs = Number(us) / 1000;
        // Near the very end, the nearest double is already year 10000 (doubles there are 1/32 ms
        // apart): no RFC3339 text exists for it, and Go refuses to marshal it too.
        fc.pre(epochMs < YEAR_10000);
        const formatted = formatMicroTime(epochMs);
        assert.match(formatted, MICRO_TIME);
        assert.ok(Math.abs(Date.parse(formatted) - epochMs) < 1, `${formatted} vs ${epochMs}`);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("formatSeconds", () => {
  const cases: readonly (readonly [string, number, string])[] = [
    ["epoch 0", 0, "1970-01-01T00:00:00Z"],
    ["truncates milliseconds and microseconds", T + 876.9, "2026-11-23T18:43:06Z"],
    ["the last microsecond of 2025 stays in 2025", Date.UTC(2026, 0, 1) - 0.001, "2025-12-31T23:59:59Z"],
    ["a whole second", Date.UTC(2026, 0, 1), "2026-01-01T00:00:00Z"],
  ];
  for (const [name, epochMs, expected] of cases) {
    it(name, () => assert.equal(formatSeconds(epochMs), expected));
  }
});

describe("sameRecord", () => {
  const base: LeaderElectionRecord = {
    holderIdentity: "baz",
    leaseDurationSeconds: 15,
    acquireTime: "2026-11-23T18:43:06.123456Z",
    renewTime: "2026-11-23T18:43:08.654321Z",
    leaseTransitions: 3,
    strategy: "OldestEmulationVersion",
    preferredHolder: "bing",
  };

  it("holds for an equal record that is another object", () => {
    assert.equal(sameRecord(base, { ...base }), true);
    assert.equal(sameRecord(emptyRecord, { ...emptyRecord }), true);
  });

  const changes: readonly (readonly [string, Partial<LeaderElectionRecord>])[] = [
    ["holderIdentity", { holderIdentity: "bing" }],
    ["holderIdentity (released)", { holderIdentity: "" }],
    ["leaseDurationSeconds", { leaseDurationSeconds: 16 }],
    ["acquireTime (one microsecond later)", { acquireTime: "2026-11-23T18:43:06.123457Z" }],
    ["acquireTime (cleared)", { acquireTime: null }],
    ["renewTime (one microsecond, same millisecond)", { renewTime: "2026-11-23T18:43:08.654322Z" }],
    ["renewTime (cleared)", { renewTime: null }],
    ["leaseTransitions", { leaseTransitions: 4 }],
    ["strategy", { strategy: "" }],
    ["preferredHolder", { preferredHolder: "" }],
  ];
  for (const [name, change] of changes) {
    it(`detects a change in ${name} alone, both ways round`, () => {
      const changed = { ...base, ...change };
      assert.equal(sameRecord(base, changed), false);
      assert.equal(sameRecord(changed, base), false);
    });
  }

  it("the table above changes every field of the record", () => {
    const fields = new Set(changes.flatMap(([, change]) => Object.keys(change)));
    assert.deepEqual([...fields].sort(), Object.keys(emptyRecord).sort());
  });

  it("compares times as text: the same instant written differently is a change", () => {
    // A client that reformats what it read must not look like a renew to us, nor the reverse.
    assert.equal(sameRecord(base, { ...base, renewTime: "2026-11-23T20:43:08.654321+02:00" }), false);
  });
});

describe("parseTime", () => {
  const cases: readonly (readonly [string, string | null, number | undefined])[] = [
    ["null is no time", null, undefined],
    ["a MicroTime, to the millisecond", "2026-11-23T18:43:06.123456Z", T],
    ["a MicroTime with an offset", "2026-11-23T20:43:06.123456+02:00", T],
    ["RFC3339 at second precision (legacy records)", "2026-11-23T18:43:06Z", T - 123],
    ["epoch 0", "1970-01-01T00:00:00.000000Z", 0],
    ["garbage", "yesterday-ish", undefined],
    ["empty text", "", undefined],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assert.equal(parseTime(text), expected));
  }

  it("reads back what formatMicroTime writes, to the millisecond", () => {
    assert.equal(parseTime(formatMicroTime(T + 0.999)), T);
  });
});
