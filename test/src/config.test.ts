/**
 * Option validation: client-go's NewLeaderElector checks, with its exact messages and in its
 * order, then ours (types, whole seconds, at least one second). Every problem is reported at once.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as E from "fp-ts/lib/Either.js";
import fc from "fast-check";
import { ConfigError, type ElectorOptions, parseSettings, type Settings } from "../../src/config.ts";
import { createElector } from "../../src/elector.ts";
import { MemoryLeaseStore, memoryLock } from "../../adapters/memory.ts";
import { VirtualClock } from "../../adapters/virtual-clock.ts";

// client-go's messages, verbatim.
const LD_GT_RD = "leaseDuration must be greater than renewDeadline";
const RD_GT_JITTER = "renewDeadline must be greater than retryPeriod*JitterFactor";
const LD_ZERO = "leaseDuration must be greater than zero";
const RD_ZERO = "renewDeadline must be greater than zero";
const RP_ZERO = "retryPeriod must be greater than zero";
const NO_STARTED = "OnStartedLeading callback must not be nil";
const NO_STOPPED = "OnStoppedLeading callback must not be nil";
const NO_LOCK = "Lock must not be nil.";
const NO_IDENTITY = "Lock identity is empty";
// Ours: renews count once a second (client-go's followers compare renewTime to the second).
const onceASecond = (renewDeadline: number): string =>
  `renewDeadline must be greater than 1200 ms, because client-go's followers see renewTime to the second, so renews count once a second: got ${renewDeadline} ms; use 1201 or more`;

const clock = new VirtualClock();
const required = {
  lock: memoryLock(new MemoryLeaseStore({ clock }), { namespace: "foo", name: "bar" }),
  identity: "baz",
  onStartedLeading: () => {},
  onStoppedLeading: () => {},
  clock,
};

/** Parses `required` with `overrides` laid over it (an undefined value removes the key). */
const parse = (overrides: Record<string, unknown>): E.Either<ConfigError, Settings> => {
  const options: Record<string, unknown> = { ...required, ...overrides };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete options[key];
  return parseSettings(options);
};

const settingsOf = (overrides: Record<string, unknown>): Settings => {
  const parsed = parse(overrides);
  if (E.isLeft(parsed)) assert.fail(`expected valid options, got ${JSON.stringify(parsed.left.issues)}`);
  return parsed.right;
};

const issuesOf = (overrides: Record<string, unknown>): readonly string[] => {
  const parsed = parse(overrides);
  if (E.isRight(parsed)) assert.fail(`expected invalid options, got ${JSON.stringify(parsed.right)}`);
  assert.ok(parsed.left instanceof ConfigError);
  return parsed.left.issues;
};

describe("parseSettings: valid options", () => {
  it("accepts client-go's test configuration (LD 15 s, RD 2 s, RP 1 s)", () => {
    assert.deepEqual(settingsOf({ leaseDuration: 15_000, renewDeadline: 2_000, retryPeriod: 1_000 }), {
      identity: "baz",
      leaseDuration: 15_000,
      renewDeadline: 2_000,
      retryPeriod: 1_000,
      requestTimeout: 1_000,
      releaseOnCancel: false,
      watch: true,
      rejoin: false,
    });
  });

  it("fills in client-go's consumers' defaults: 15 s, 10 s, 2 s, request timeout 5 s, watch on, no release", () => {
    assert.deepEqual(settingsOf({}), {
      identity: "baz",
      leaseDuration: 15_000,
      renewDeadline: 10_000,
      retryPeriod: 2_000,
      requestTimeout: 5_000,
      releaseOnCancel: false,
      watch: true,
      rejoin: false,
    });
  });

  it("treats explicitly undefined options as unset", () => {
    const parsed = parseSettings({ ...required, leaseDuration: undefined, requestTimeout: undefined, watch: undefined, name: undefined, onNewLeader: undefined });
    assert.ok(E.isRight(parsed));
    const { requestTimeout, leaseDuration, watch } = parsed.right;
    assert.deepEqual({ requestTimeout, leaseDuration, watch }, { requestTimeout: 5_000, leaseDuration: 15_000, watch: true });
  });

  const timeouts: readonly (readonly [string, Record<string, unknown>, number])[] = [
    ["half the renew deadline", { leaseDuration: 4_000, renewDeadline: 3_000, retryPeriod: 1_000 }, 1_500],
    ["at least one second", { leaseDuration: 2_000, renewDeadline: 1_500, retryPeriod: 1_000 }, 1_000],
    ["exactly one second at RD 2 s", { leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 1_000 }, 1_000],
    ["as given", { requestTimeout: 700 }, 700],
  ];
  for (const [name, options, expected] of timeouts) {
    it(`request timeout: ${name}`, () => assert.equal(settingsOf(options).requestTimeout, expected));
  }

  it("passes the switches through", () => {
    const { releaseOnCancel, watch } = settingsOf({ releaseOnCancel: true, watch: false });
    assert.deepEqual({ releaseOnCancel, watch }, { releaseOnCancel: true, watch: false });
  });

  it("allows renew deadline and retry period that are not whole seconds", () => {
    const { renewDeadline, retryPeriod } = settingsOf({ leaseDuration: 2_000, renewDeadline: 1_250, retryPeriod: 1_000.5 });
    assert.deepEqual({ renewDeadline, retryPeriod }, { renewDeadline: 1_250, retryPeriod: 1_000.5 });
  });
});

describe("parseSettings: client-go's checks, messages and order", () => {
  it("an empty identity gives exactly client-go's message", () => {
    assert.deepEqual(issuesOf({ identity: "" }), [NO_IDENTITY]);
  });

  it("a missing identity is an empty one", () => {
    assert.deepEqual(issuesOf({ identity: undefined }), [NO_IDENTITY]);
  });

  const ldRd: readonly (readonly [string, Record<string, unknown>])[] = [
    ["equal", { leaseDuration: 10_000, renewDeadline: 10_000 }],
    ["renew deadline longer", { leaseDuration: 10_000, renewDeadline: 11_000 }],
  ];
  for (const [name, options] of ldRd) {
    it(`leaseDuration <= renewDeadline (${name})`, () => assert.deepEqual(issuesOf(options), [LD_GT_RD]));
  }

  it("renewDeadline exactly retryPeriod * 1.2 is invalid", () => {
    assert.deepEqual(issuesOf({ renewDeadline: 2_400, retryPeriod: 2_000 }), [RD_GT_JITTER]);
  });

  it("renewDeadline below retryPeriod * 1.2 is invalid", () => {
    assert.deepEqual(issuesOf({ renewDeadline: 2_000, retryPeriod: 2_000 }), [RD_GT_JITTER]);
  });

  it("renewDeadline one millisecond above retryPeriod * 1.2 is valid", () => {
    assert.equal(settingsOf({ renewDeadline: 2_401, retryPeriod: 2_000 }).renewDeadline, 2_401);
  });

  it("property: the 1.2 boundary is exact for every whole-millisecond retry period from 1 s (no floating-point slack)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 200_000 }), (fifths) => {
        const retryPeriod = 5 * fifths; // so that 1.2 * retryPeriod is a whole number of ms
        const boundary = 6 * fifths;
        const leaseDuration = (Math.floor(boundary / 1000) + 2) * 1000;
        assert.deepEqual(issuesOf({ leaseDuration, renewDeadline: boundary, retryPeriod }), [RD_GT_JITTER]);
        assert.equal(settingsOf({ leaseDuration, renewDeadline: boundary + 1, retryPeriod }).renewDeadline, boundary + 1);
      }),
    );
  });

  it("all three durations zero: every duration check, in client-go's order", () => {
    assert.deepEqual(issuesOf({ leaseDuration: 0, renewDeadline: 0, retryPeriod: 0 }), [LD_GT_RD, RD_GT_JITTER, LD_ZERO, RD_ZERO, RP_ZERO]);
  });

  it("all three durations negative and equal (-1 s > 1.2 * -1 s, so no jitter message)", () => {
    assert.deepEqual(issuesOf({ leaseDuration: -1_000, renewDeadline: -1_000, retryPeriod: -1_000 }), [LD_GT_RD, LD_ZERO, RD_ZERO, RP_ZERO]);
  });

  it("zero leaseDuration alone (and no whole-seconds message for it)", () => {
    assert.deepEqual(issuesOf({ leaseDuration: 0 }), [LD_GT_RD, LD_ZERO]);
  });

  it("zero renewDeadline alone", () => {
    assert.deepEqual(issuesOf({ renewDeadline: 0 }), [RD_GT_JITTER, RD_ZERO]);
  });

  it("zero retryPeriod alone", () => {
    assert.deepEqual(issuesOf({ retryPeriod: 0 }), [RP_ZERO]);
  });

  it("negative retryPeriod alone", () => {
    assert.deepEqual(issuesOf({ retryPeriod: -2_000 }), [RP_ZERO]);
  });

  it("missing callbacks, lock and identity", () => {
    const parsed = parseSettings({});
    assert.ok(E.isLeft(parsed));
    assert.deepEqual(parsed.left.issues, [NO_STARTED, NO_STOPPED, NO_LOCK, NO_IDENTITY]);
  });

  const missing: readonly (readonly [string, Record<string, unknown>, string])[] = [
    ["onStartedLeading missing", { onStartedLeading: undefined }, NO_STARTED],
    ["onStartedLeading not a function", { onStartedLeading: "start" }, NO_STARTED],
    ["onStoppedLeading missing", { onStoppedLeading: undefined }, NO_STOPPED],
    ["onStoppedLeading null", { onStoppedLeading: null }, NO_STOPPED],
    ["lock missing", { lock: undefined }, NO_LOCK],
    ["lock null", { lock: null }, NO_LOCK],
  ];
  for (const [name, options, message] of missing) {
    it(name, () => assert.deepEqual(issuesOf(options), [message]));
  }

  it("everything wrong at once: all nine of client-go's checks, in its order", () => {
    const parsed = parseSettings({ identity: "", leaseDuration: 0, renewDeadline: 0, retryPeriod: 0 });
    assert.ok(E.isLeft(parsed));
    assert.deepEqual(parsed.left.issues, [LD_GT_RD, RD_GT_JITTER, LD_ZERO, RD_ZERO, RP_ZERO, NO_STARTED, NO_STOPPED, NO_LOCK, NO_IDENTITY]);
  });
});

describe("parseSettings: ours, after client-go's", () => {
  const notNumbers: readonly (readonly [string, unknown])[] = [
    ["a duration string", "15s"],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["a numeric string", "15000"],
    ["null", null],
  ];
  for (const [name, value] of notNumbers) {
    it(`leaseDuration ${name} is not a number of milliseconds (and skips the checks that need it)`, () => {
      assert.deepEqual(issuesOf({ leaseDuration: value }), ["leaseDuration must be a number of milliseconds"]);
    });
  }

  it("each mistyped duration is named, and client-go's checks still run on the others", () => {
    assert.deepEqual(issuesOf({ leaseDuration: "15s", renewDeadline: "10s", retryPeriod: 0, requestTimeout: "5s" }), [
      RP_ZERO,
      "leaseDuration must be a number of milliseconds",
      "renewDeadline must be a number of milliseconds",
      "requestTimeout must be a number of milliseconds",
    ]);
  });

  it("leaseDuration 1500 ms is not a whole number of seconds: suggests 1000 or 2000", () => {
    assert.deepEqual(issuesOf({ leaseDuration: 1_500, renewDeadline: 1_250, retryPeriod: 500 }), [
      "leaseDuration must be a whole number of seconds, because the Lease stores whole seconds: got 1500 ms; use 1000 or 2000",
    ]);
  });

  it("leaseDuration 15500 ms suggests 15000 or 16000", () => {
    assert.deepEqual(issuesOf({ leaseDuration: 15_500 }), [
      "leaseDuration must be a whole number of seconds, because the Lease stores whole seconds: got 15500 ms; use 15000 or 16000",
    ]);
  });

  it("leaseDuration 500 ms is less than a second (client-go would write 0 and the server would refuse it)", () => {
    assert.deepEqual(issuesOf({ leaseDuration: 500, renewDeadline: 400, retryPeriod: 300 }), [
      "leaseDuration must be at least 1 second (1000 ms): got 500 ms",
      onceASecond(400),
    ]);
  });

  it("client-go's messages come before ours", () => {
    assert.deepEqual(issuesOf({ leaseDuration: 1_500, renewDeadline: 2_000, retryPeriod: 1_000 }), [
      LD_GT_RD,
      "leaseDuration must be a whole number of seconds, because the Lease stores whole seconds: got 1500 ms; use 1000 or 2000",
    ]);
  });

  // Issue #9: each of these flapped, losing leadership on a healthy lock within two seconds.
  const flapping: readonly (readonly [number, number, number])[] = [[1_000, 600, 200], [1_000, 800, 100], [2_000, 1_000, 300]];
  for (const [leaseDuration, renewDeadline, retryPeriod] of flapping) {
    it(`${leaseDuration} / ${renewDeadline} / ${retryPeriod} cannot be held: renews count once a second`, () => {
      assert.deepEqual(issuesOf({ leaseDuration, renewDeadline, retryPeriod }), [onceASecond(renewDeadline)]);
    });
  }

  it("renewDeadline 1200 ms is one too few; 1201 ms holds (with leaseDuration 2 s)", () => {
    assert.deepEqual(issuesOf({ leaseDuration: 2_000, renewDeadline: 1_200, retryPeriod: 100 }), [onceASecond(1_200)]);
    assert.equal(settingsOf({ leaseDuration: 2_000, renewDeadline: 1_201, retryPeriod: 100 }).renewDeadline, 1_201);
  });

  it("both 1.2 rules broken at once: client-go's message first, then ours", () => {
    assert.deepEqual(issuesOf({ leaseDuration: 1_000, renewDeadline: 500, retryPeriod: 500 }), [RD_GT_JITTER, onceASecond(500)]);
  });

  it("from retryPeriod 1 s on, client-go's 1.2 rule is the stricter one and ours says nothing", () => {
    assert.deepEqual(issuesOf({ leaseDuration: 2_000, renewDeadline: 1_100, retryPeriod: 1_000 }), [RD_GT_JITTER]);
  });

  it("property: accepted exactly when renewDeadline > 1.2 x max(retryPeriod, 1 s) (with leaseDuration above it)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 1, max: 8_000 }), (retryPeriod, renewDeadline) => {
        const leaseDuration = (Math.floor(renewDeadline / 1000) + 1) * 1000;
        const accepted = E.isRight(parse({ leaseDuration, renewDeadline, retryPeriod }));
        assert.equal(accepted, renewDeadline > 1.2 * Math.max(retryPeriod, 1_000));
      }),
    );
  });

  const types: readonly (readonly [string, Record<string, unknown>, readonly string[]])[] = [
    ["identity not a string (not reported as empty)", { identity: 5 }, ["identity must be a string"]],
    ["releaseOnCancel not a boolean", { releaseOnCancel: "yes" }, ["releaseOnCancel must be true or false"]],
    ["watch not a boolean", { watch: 1 }, ["watch must be true or false"]],
    ["name not a string", { name: 7 }, ["name must be a string"]],
    ["onNewLeader not a function", { onNewLeader: "log" }, ["onNewLeader must be a function"]],
    ["random not a function", { random: 0.5 }, ["random must be a function"]],
    ["lock without the Lock methods", { lock: { get() {} } }, ["lock must have get, create and update methods (use memoryLock, leaseLock or your own Lock)"]],
    ["clock without the Clock methods", { clock: { now: () => 0 } }, ["clock must have now, wall and setTimer methods"]],
    ["requestTimeout zero", { requestTimeout: 0 }, ["requestTimeout must be greater than zero"]],
    ["requestTimeout negative", { requestTimeout: -1 }, ["requestTimeout must be greater than zero"]],
    ["requestTimeout NaN", { requestTimeout: Number.NaN }, ["requestTimeout must be a number of milliseconds"]],
  ];
  for (const [name, options, expected] of types) {
    it(name, () => assert.deepEqual(issuesOf(options), expected));
  }

  const notObjects: readonly (readonly [string, unknown])[] = [
    ["undefined", undefined],
    ["null", null],
    ["a string", "baz"],
  ];
  for (const [name, options] of notObjects) {
    it(`options ${name}: client-go's messages name what is missing`, () => {
      const parsed = parseSettings(options);
      assert.ok(E.isLeft(parsed));
      assert.deepEqual(parsed.left.issues, [NO_STARTED, NO_STOPPED, NO_LOCK, NO_IDENTITY]);
    });
  }
});

describe("ConfigError", () => {
  const everything = { lock: undefined, identity: "", leaseDuration: 1_500, renewDeadline: 1_500, retryPeriod: 0, watch: "no" };
  const expected = [
    LD_GT_RD,
    RP_ZERO,
    NO_LOCK,
    NO_IDENTITY,
    "watch must be true or false",
    "leaseDuration must be a whole number of seconds, because the Lease stores whole seconds: got 1500 ms; use 1000 or 2000",
  ];

  it("lists every problem at once, and its message contains each", () => {
    const parsed = parse(everything);
    assert.ok(E.isLeft(parsed));
    const error = parsed.left;
    assert.deepEqual(error.issues, expected);
    assert.equal(error.name, "ConfigError");
    assert.ok(error instanceof Error);
    assert.equal(error.message, `invalid elector options:\n${expected.map((issue) => `  - ${issue}`).join("\n")}`);
  });

  it("createElector throws it", () => {
    const options = { ...required, ...everything } as unknown as ElectorOptions;
    assert.throws(
      () => createElector(options),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.issues, expected);
        return true;
      },
    );
  });

  it("createElector throws for a single client-go problem too", () => {
    assert.throws(() => createElector({ ...required, identity: "" }), (error: unknown) => error instanceof ConfigError && error.issues.length === 1 && error.issues[0] === NO_IDENTITY);
  });

  it("createElector accepts valid options without throwing", () => {
    const elector = createElector({ ...required, leaseDuration: 15_000, renewDeadline: 2_000, retryPeriod: 1_000 });
    assert.equal(elector.isLeader(), false);
    assert.equal(elector.term, undefined);
  });
});
