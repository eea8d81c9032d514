/**
 * Once `run()` has settled, nothing of tenure is left running: no timer, no pending request or
 * watch read, no listener on a signal that can still fire. Counted, not guessed: a timer left
 * behind keeps a process alive (a 5-minute one keeps a CLI from exiting).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createElector, type ElectorOptions } from "../../src/index.ts";
import { type Fault, MemoryLeaseStore, memoryLock, type MemoryLockOptions } from "../../adapters/memory.ts";
import { settle, VirtualClock } from "../../adapters/virtual-clock.ts";
import { counting } from "../support/counting.ts";

interface Scenario {
  readonly options?: Partial<ElectorOptions>;
  readonly lock?: Partial<MemoryLockOptions>;
  readonly faults?: readonly Fault[];
  /** Virtual ms the elector runs before it is stopped. */
  readonly runFor: number;
  /** Another elector leads first, so that this one follows. */
  readonly follow?: boolean;
}

const leftoversAfterRun = async (scenario: Scenario) => {
  const base = new VirtualClock();
  const store = new MemoryLeaseStore({ clock: base });
  if (scenario.follow) {
    createElector({
      lock: memoryLock(store, { namespace: "ns", name: "lease", client: "other" }),
      identity: "other",
      clock: base,
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
    }).run();
    await base.advance(10);
  }
  const count = counting(base);
  const inner = memoryLock(store, { namespace: "ns", name: "lease", client: "me", clock: count.clock, ...scenario.lock });
  for (const fault of scenario.faults ?? []) inner.inject(fault);
  const stop = new AbortController();
  count.watchSignal(stop.signal);
  let outcome: string | undefined;
  const run = createElector({
    lock: count.lock(inner),
    identity: "me",
    clock: count.clock,
    onStartedLeading: (signal) => new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })),
    onStoppedLeading: () => {},
    ...scenario.options,
  }).run(stop.signal).then(() => void (outcome = "resolved"), (error: unknown) => void (outcome = String(error)));
  await base.advance(scenario.runFor);
  stop.abort();
  // Let the run settle, and everything it started meanwhile, without moving time.
  for (let i = 0; i < 10 && outcome === undefined; i++) await settle();
  await run;
  for (let i = 0; i < 10; i++) await settle();
  return { outcome, ...count.leftovers() };
};

const nothingLeft = { timers: 0, pending: 0, listeners: 0 };

describe("nothing outlives run()", () => {
  it("a follower stopped just after its watch opened (the ended stream is not a failure to back off from)", async () => {
    const left = await leftoversAfterRun({ follow: true, runFor: 100 });
    assert.deepEqual({ ...left, outcome: undefined }, { ...nothingLeft, outcome: undefined });
    assert.equal(left.outcome, "resolved");
  });

  it("an onError that throws on a Forbidden watch (no 5-minute pause armed after stop)", async () => {
    const left = await leftoversAfterRun({
      follow: true,
      runFor: 100,
      faults: [{ ops: ["watch"], error: "Forbidden" }],
      options: { onError: (error) => { if (error.reason === "Forbidden") throw error; } },
    });
    assert.deepEqual({ ...left, outcome: undefined }, { ...nothingLeft, outcome: undefined });
    assert.match(left.outcome ?? "", /Forbidden/);
  });

  it("a leader that releases while its watch delivers with latency (no delivery timer left)", async () => {
    const left = await leftoversAfterRun({ runFor: 5_000, options: { releaseOnCancel: true }, lock: { watchLatency: 30 } });
    assert.deepEqual(left, { ...nothingLeft, outcome: "resolved" });
  });

  it("a candidate stopped while its request hangs", async () => {
    const left = await leftoversAfterRun({ runFor: 500, faults: [{ ops: ["get"], hang: true }] });
    assert.deepEqual(left, { ...nothingLeft, outcome: "resolved" });
  });

  it("a follower whose watch keeps failing, stopped during the backoff pause", async () => {
    const left = await leftoversAfterRun({ follow: true, runFor: 3_000, faults: [{ ops: ["watch"], error: "ServerError" }] });
    assert.deepEqual(left, { ...nothingLeft, outcome: "resolved" });
  });
});
