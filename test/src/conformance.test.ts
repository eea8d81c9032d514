/**
 * client-go's upstream leader election tests (leaderelection_test.go), row by row, against the pure
 * protocol, plus the extra rows derived from its code. Identity under test: baz; the other: bing;
 * Lease foo/bar. "future" = now + 1000 h, "past" = now - 1000 h.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Observation } from "../../src/protocol/attempt.ts";
import { initial, type State } from "../../src/protocol.ts";
import { emptyRecord, type LeaderElectionRecord } from "../../src/record.ts";
import { NAME, NAMESPACE, Scripted, settingsOf } from "../support/scripted.ts";

const HOUR = 3_600_000;
const NOW = 5_000_000_000; // monotonic ms; far from zero so "past" stays positive
const record = (fields: Partial<LeaderElectionRecord>): LeaderElectionRecord => ({ ...emptyRecord, ...fields });
const candidate = (observation?: Observation): State => ({
  ...initial,
  phase: { _tag: "candidate", attempt: undefined, wakeAt: 0, raced: false, freed: false },
  observation,
});

interface Row {
  readonly name: string;
  readonly observation?: Observation;
  readonly server?: LeaderElectionRecord;
  readonly succeeds: boolean;
  readonly ops: readonly string[];
  readonly transitions: number;
  readonly newLeader: string;
  /** A deliberate difference from client-go: what client-go does, and why tenure does not. */
  readonly differs?: string;
}

/** One call of tryAcquireOrRenew: a Wake for a candidate. */
const attemptOnce = (row: Row): Scripted => {
  const script = new Scripted(settingsOf(), candidate(row.observation));
  if (row.server) script.store.write(NAMESPACE, NAME, { record: row.server });
  script.send({ _tag: "Wake" }, NOW);
  return script;
};

const check = (row: Row, script: Scripted): void => {
  assert.equal(script.state.phase._tag === "leader", row.succeeds, "outcome");
  assert.deepEqual(script.ops, row.ops, "API operations");
  assert.equal(script.state.observation?.record.leaseTransitions, row.transitions, "leaseTransitions");
  assert.deepEqual(script.emitted("NewLeader").map((c) => c.identity), [row.newLeader], "onNewLeader");
};

describe("tryAcquireOrRenew (client-go testTryAcquireOrRenew)", () => {
  const rows: Row[] = [
    { name: "A1 acquire from no object", succeeds: true, ops: ["get(NotFound)", "create"], transitions: 0, newLeader: "baz" },
    { name: "A2 acquire from object without annotations", server: emptyRecord, succeeds: true, ops: ["get", "update"], transitions: 1, newLeader: "baz" },
    {
      name: "A4 acquire from unled object",
      server: record({ holderIdentity: "" }),
      succeeds: true,
      ops: ["get", "update"],
      transitions: 1,
      newLeader: "baz",
    },
    {
      name: "A5 acquire from led, unacked object",
      observation: { record: record({ holderIdentity: "bing", leaseDurationSeconds: 10 }), at: NOW - 1000 * HOUR },
      server: record({ holderIdentity: "bing", leaseDurationSeconds: 10 }),
      succeeds: true,
      ops: ["get", "update"],
      transitions: 1,
      newLeader: "baz",
    },
    {
      name: "A6 acquire from empty led, acked object",
      observation: { record: record({ leaseDurationSeconds: 10 }), at: NOW + 1000 * HOUR },
      server: record({ holderIdentity: "", leaseDurationSeconds: 10 }),
      succeeds: true,
      ops: ["get", "update"],
      transitions: 1,
      newLeader: "baz",
    },
    {
      name: "A7 don't acquire from led, acked object",
      observation: { record: emptyRecord, at: NOW + 1000 * HOUR },
      server: record({ holderIdentity: "bing", leaseDurationSeconds: 10 }),
      succeeds: false,
      ops: ["get"],
      transitions: 0,
      newLeader: "bing",
    },
    {
      name: "A8 renew already acquired object (no cached object, so no fast path): DIFFERS, held until it expires",
      observation: { record: record({ holderIdentity: "baz", leaseDurationSeconds: 10 }), at: NOW + 1000 * HOUR },
      server: record({ holderIdentity: "baz", leaseDurationSeconds: 10 }),
      succeeds: false,
      ops: ["get"],
      transitions: 0,
      newLeader: "baz",
      differs: "client-go succeeds (get, update; transitions 0): any record naming its identity is its own. tenure " +
        "never wrote this one (no term of this elector has its acquireTime), so another process using the " +
        "same identity may still act on it: it is someone else's until it expires (see A8b).",
    },
  ];
  for (const row of rows) it(row.name, () => check(row, attemptOnce(row)));

  it("A8b the same record, once it has expired by our clock: taken as a new term (transitions + 1)", () => {
    const held = record({ holderIdentity: "baz", leaseDurationSeconds: 10 });
    const script = attemptOnce({ name: "", observation: { record: held, at: NOW - 10_000 }, server: held, succeeds: true, ops: [], transitions: 0, newLeader: "" });
    assert.equal(script.state.phase._tag, "leader");
    assert.deepEqual(script.ops, ["get", "update"]);
    assert.equal(script.state.observation?.record.leaseTransitions, 1);
  });

  it("A8c a record our own current term wrote is renewed (acquireTime and transitions kept)", () => {
    const script = new Scripted(settingsOf());
    script.send({ _tag: "Start" }, NOW);
    const term = script.state.phase._tag === "leader" ? script.state.phase.term : undefined;
    script.state = { ...script.state, version: undefined }; // no cached object: the slow path
    script.send({ _tag: "Wake" }, NOW + 2_000);
    assert.deepEqual(script.ops, ["get(NotFound)", "create", "get", "update"]);
    assert.equal(script.state.observation?.record.acquireTime, term?.acquireTime);
    assert.equal(script.state.observation?.record.leaseTransitions, 0);
  });

  it("A3 acquire from led object with the lease duration seconds (the record's 3 s, not the config's 10 s)", () => {
    const script = new Scripted(settingsOf(), candidate());
    script.store.write(NAMESPACE, NAME, { record: record({ holderIdentity: "bing", leaseDurationSeconds: 3 }) });
    script.send({ _tag: "Wake" }, NOW);
    assert.equal(script.state.phase._tag, "candidate", "just observed: not expired");
    script.send({ _tag: "Wake" }, NOW + 3000);
    assert.equal(script.state.phase._tag, "leader");
    assert.deepEqual(script.ops, ["get", "get", "update"]);
    assert.equal(script.state.observation?.record.leaseTransitions, 1);
    assert.deepEqual(script.emitted("NewLeader").map((c) => c.identity), ["bing", "baz"]);
  });
});

// client-go's TestTryCoordinatedRenew (C1, C2) and the coordinated extra rows are not here:
// tenure does not implement Coordinated Leader Election (KEP-4355), which needs LeaseCandidate
// objects for the API server's coordinator to choose from (see the README).

describe("release (client-go testReleaseLease, TestReleaseMethodCallsGet, TestReleaseRetriesOnConflict)", () => {
  // Acquired from no object, as upstream's rows say (a record naming baz that this elector never
  // wrote would not be its own: see A8).
  const leadThenStop = (prepare?: (script: Scripted) => void): Scripted => {
    const script = new Scripted(settingsOf({ releaseOnCancel: true }));
    script.send({ _tag: "Start" }, NOW);
    assert.equal(script.state.phase._tag, "leader");
    prepare?.(script);
    script.send({ _tag: "Stop" }, NOW + 100);
    script.send({ _tag: "WorkSettled" }, NOW + 101);
    return script;
  };

  it("R1 release acquired lock from no object: get, create, then get, update; holder becomes \"\"", () => {
    const script = leadThenStop();
    assert.deepEqual(script.ops, ["get(NotFound)", "create", "get", "update"]);
    const stored = script.store.read(NAMESPACE, NAME)?.record;
    assert.equal(stored?.holderIdentity, "");
    assert.equal(stored?.leaseDurationSeconds, 1);
    assert.equal(stored?.leaseTransitions, 0);
    assert.equal(stored?.acquireTime, stored?.renewTime);
    assert.deepEqual(script.emitted("NewLeader").map((c) => c.identity), ["baz", ""]);
    assert.equal(script.state.phase._tag, "stopped");
  });

  it("R2 release issues a GET before the PUT", () => {
    const script = leadThenStop();
    assert.deepEqual(script.ops.slice(2), ["get", "update"]);
  });

  it("R3 release retries on conflict", () => {
    let raced = false;
    const script = leadThenStop((s) => {
      s.override = (request) => {
        if (request.op === "update" && !raced) {
          raced = true; // someone (our own in-flight renew) wrote in between
          s.store.write(NAMESPACE, NAME, { labels: { touched: "yes" } });
        }
        return undefined;
      };
    });
    assert.deepEqual(script.ops, ["get(NotFound)", "create", "get", "update(Conflict)", "get", "update"]);
    assert.equal(script.store.read(NAMESPACE, NAME)?.record.holderIdentity, "");
  });
});

describe("extra rows derived from client-go's code", () => {
  it("a take-over PUT answered 409 fails the attempt, changing nothing beyond what the GET showed", () => {
    const script = new Scripted(settingsOf(), candidate());
    script.store.write(NAMESPACE, NAME, { record: record({ holderIdentity: "", leaseDurationSeconds: 10 }) });
    script.override = (request) => (request.op === "update" ? { _tag: "error", reason: "Conflict", message: "conflict" } : undefined);
    script.send({ _tag: "Wake" }, NOW);
    assert.equal(script.state.phase._tag, "candidate");
    // tenure reads once more at once to learn the winner (client-go waits a jittered period).
    assert.deepEqual(script.ops, ["get", "update(Conflict)", "get", "update(Conflict)"]);
    assert.equal(script.state.observation?.record.holderIdentity, "");
    assert.ok(script.state.phase._tag === "candidate" && script.state.phase.wakeAt >= NOW + 2_000, "then waits");
  });

  it("a POST answered 409 AlreadyExists fails the attempt", () => {
    const script = new Scripted(settingsOf(), candidate());
    script.override = (request) => (request.op === "create" ? { _tag: "error", reason: "AlreadyExists", message: "exists" } : undefined);
    script.send({ _tag: "Wake" }, NOW);
    assert.equal(script.state.phase._tag, "candidate");
    assert.deepEqual(script.ops, ["get(NotFound)", "create(AlreadyExists)", "get(NotFound)", "create(AlreadyExists)"]);
    assert.ok(script.state.phase._tag === "candidate" && script.state.phase.wakeAt >= NOW + 2_000, "then waits");
  });

  for (const reason of ["ServerError", "Timeout"] as const) {
    it(`a GET failing with ${reason} fails the attempt with no change`, () => {
      const observed = { record: record({ holderIdentity: "bing", leaseDurationSeconds: 10 }), at: NOW - 1 };
      const script = new Scripted(settingsOf(), candidate(observed));
      script.override = () => ({ _tag: "error", reason, message: reason });
      script.send({ _tag: "Wake" }, NOW);
      assert.equal(script.state.phase._tag, "candidate");
      assert.deepEqual(script.ops, [`get(${reason})`]);
      assert.equal(script.state.observation, observed);
    });
  }

  it("a leader whose slow-path GET shows another holder steps down at once", () => {
    const script = new Scripted(settingsOf());
    script.send({ _tag: "Start" }, NOW);
    assert.equal(script.state.phase._tag, "leader");
    script.store.write(NAMESPACE, NAME, { record: record({ holderIdentity: "bing", leaseDurationSeconds: 10 }) });
    script.send({ _tag: "Wake" }, NOW + 2000);
    assert.deepEqual(script.ops, ["get(NotFound)", "create", "update(Conflict)", "get"]);
    assert.equal(script.state.phase._tag, "steppingDown");
    assert.deepEqual(script.emitted("StopLeading").map((c) => c.loss), [{ _tag: "holder", holder: "bing" }]);
  });

  it("release when not leader makes no request", () => {
    const script = new Scripted(settingsOf({ releaseOnCancel: true }), candidate());
    script.store.write(NAMESPACE, NAME, { record: record({ holderIdentity: "bing", leaseDurationSeconds: 10 }) });
    script.send({ _tag: "Wake" }, NOW);
    script.send({ _tag: "Stop" }, NOW + 10);
    assert.deepEqual(script.ops, ["get"]);
    assert.equal(script.state.phase._tag, "stopped");
  });

  it("release finding the Lease gone writes nothing", () => {
    const script = new Scripted(settingsOf({ releaseOnCancel: true }));
    script.send({ _tag: "Start" }, NOW);
    script.store.delete(NAMESPACE, NAME);
    script.send({ _tag: "Stop" }, NOW + 10);
    script.send({ _tag: "WorkSettled" }, NOW + 11);
    assert.deepEqual(script.ops, ["get(NotFound)", "create", "get(NotFound)"]);
    assert.equal(script.state.phase._tag, "stopped");
  });

  it("release never blanks a lease someone else holds now (client-go checks only its local view)", () => {
    const script = new Scripted(settingsOf({ releaseOnCancel: true }));
    script.send({ _tag: "Start" }, NOW);
    script.store.write(NAMESPACE, NAME, { record: record({ holderIdentity: "bing", leaseDurationSeconds: 10 }) });
    script.send({ _tag: "Stop" }, NOW + 10);
    script.send({ _tag: "WorkSettled" }, NOW + 11);
    assert.deepEqual(script.ops, ["get(NotFound)", "create", "get"]);
    assert.equal(script.store.read(NAMESPACE, NAME)?.record.holderIdentity, "bing");
  });

  it("boundary: unchanged for exactly leaseDurationSeconds is expired (valid iff observedTime + d > now)", () => {
    const held = record({ holderIdentity: "bing", leaseDurationSeconds: 10 });
    const before = attemptOnce({ name: "", observation: { record: held, at: NOW - 9_999 }, server: held, succeeds: false, ops: [], transitions: 0, newLeader: "" });
    assert.equal(before.state.phase._tag, "candidate", "1 ms before expiry");
    const at = attemptOnce({ name: "", observation: { record: held, at: NOW - 10_000 }, server: held, succeeds: false, ops: [], transitions: 0, newLeader: "" });
    assert.equal(at.state.phase._tag, "leader", "at expiry");
  });
});
