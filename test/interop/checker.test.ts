/**
 * The interop checker on synthetic event lists: it must catch what it is there to catch (an
 * overlap, a missing leader, nonsense lines) and let through what is allowed (touching intervals,
 * a crashed leader's interval ending at its kill). Needs no cluster.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { check, earliestTakeover, type Exit, handoverBound, type Kill, type PeerEvent, recoveryBound } from "./checker.ts";

const ev = (process: string, event: string, mono: number, leader?: string): PeerEvent =>
  leader === undefined ? { process, event, mono } : { process, event, mono, leader };
const kill = (process: string, mono: number, signal: Kill["signal"] = "SIGKILL"): Kill => ({ process, mono, signal });
const exit = (process: string, mono: number, code: number | null = 0, signal: string | null = null): Exit => ({ process, mono, code, signal });

describe("interop checker", () => {
  it("accepts one leader after another, with the intervals it derived", () => {
    const verdict = check({
      events: [ev("a", "ready", 0), ev("b", "ready", 1), ev("a", "started", 10), ev("a", "stopped", 100), ev("b", "started", 150)],
      kills: [kill("a", 90, "SIGTERM")],
      exits: [exit("a", 105)],
      until: 1_000,
    });
    assert.equal(verdict.ok, true, verdict.report);
    assert.deepEqual(verdict.intervals, [
      { process: "a", start: 10, end: 100, endedBy: "stopped" },
      { process: "b", start: 150, end: 1_000, endedBy: "open" },
    ]);
  });

  it("detects an overlap and says who, when and how long", () => {
    const verdict = check({
      events: [ev("a", "started", 1_000), ev("b", "started", 1_990), ev("a", "stopped", 2_000)],
    });
    assert.equal(verdict.ok, false);
    assert.equal(verdict.violations.length, 1);
    assert.equal(verdict.violations[0]?.kind, "overlap");
    assert.match(verdict.report, /two leaders: a led \[0\.000 s, 1\.000 s\) \(ended by stopped\) and b led \[0\.990 s, the end\) \(ended by open\): 10\.0 ms of overlap/);
  });

  it("allows touching intervals: [a, b) then [b, c)", () => {
    const verdict = check({ events: [ev("a", "started", 0), ev("a", "stopped", 500), ev("b", "started", 500), ev("b", "stopped", 900)] });
    assert.equal(verdict.ok, true, verdict.report);
  });

  it("ends an interval at work_stopped when a peer reports it before stopped (tenure stops the work, then releases)", () => {
    const verdict = check({ events: [ev("a", "started", 0), ev("a", "work_stopped", 100), ev("b", "started", 103), ev("a", "stopped", 106)] });
    assert.equal(verdict.ok, true, verdict.report);
    assert.deepEqual(verdict.intervals[0], { process: "a", start: 0, end: 100, endedBy: "work_stopped", ending: ev("a", "work_stopped", 100) });
    const late = check({ events: [ev("a", "started", 0), ev("b", "started", 99), ev("a", "work_stopped", 100), ev("a", "stopped", 106)] });
    assert.deepEqual(late.violations.map((v) => v.kind), ["overlap"]);
  });

  describe("a known race (client-go's MultiLock overwriting a Lease that a Lease-only peer just took)", () => {
    const race = { name: "client-go MultiLock", victims: ["l"], intruders: ["el"], vacancy: 1_000, overlap: 1_000, named: true };
    const stoppedBy = (process: string, mono: number, why: string, holder?: string): PeerEvent => ({
      process, event: "work_stopped", mono, why, ...(holder === undefined ? {} : { holder }),
    });

    it("is measured, not failed, when the victim stepped down on seeing the intruder (either started first)", () => {
      for (const intruderStart of [9_392, 9_402]) {
        const verdict = check({
          events: [ev("el", "started", intruderStart), ev("l", "started", 9_400), stoppedBy("l", 9_406, "holder", "el"), ev("l", "stopped", 9_410)],
          races: [race],
          until: 12_000,
        });
        assert.equal(verdict.ok, true, verdict.report);
        assert.deepEqual(verdict.races, [{ name: race.name, victim: "l", intruder: "el", at: Math.max(intruderStart, 9_400), overlap: 9_406 - Math.max(intruderStart, 9_400) }]);
      }
    });

    it("is an overlap when the victim stepped down for another reason, or never", () => {
      const deadline = check({
        events: [ev("el", "started", 9_392), ev("l", "started", 9_400), stoppedBy("l", 9_406, "renewDeadline")],
        races: [race],
      });
      assert.deepEqual(deadline.violations.map((v) => v.kind), ["overlap", "lost"]);
      assert.deepEqual(deadline.races, []);
      const never = check({ events: [ev("el", "started", 9_392), ev("l", "started", 9_400)], races: [race], until: 9_500 });
      assert.deepEqual(never.violations.map((v) => v.kind), ["overlap"]);
    });

    it("is an overlap when the victim took the lease of a live intruder (their terms did not start from one vacancy)", () => {
      const verdict = check({
        events: [ev("el", "started", 1_000), ev("l", "started", 9_400), stoppedBy("l", 9_406, "holder", "el")],
        races: [race],
        until: 12_000,
      });
      assert.deepEqual(verdict.violations.map((v) => v.kind), ["overlap", "lost"]);
    });

    it("of a client-go victim, which says nothing and steps down at its renewDeadline: measured up to its bound", () => {
      const quiet = { ...race, named: false, overlap: 2_500 };
      const within = check({ events: [ev("el", "started", 9_392), ev("l", "started", 9_400), ev("l", "stopped", 11_400)], races: [quiet], until: 12_000 });
      assert.equal(within.ok, true, within.report);
      assert.equal(within.races[0]?.overlap, 2_000);
      const beyond = check({ events: [ev("el", "started", 9_392), ev("l", "started", 9_400), ev("l", "stopped", 12_400)], races: [quiet], until: 13_000 });
      assert.deepEqual(beyond.violations.map((v) => v.kind), ["overlap"]);
    });

    it("is an overlap with the roles the other way round, or with other processes", () => {
      const reversed = check({
        events: [ev("l", "started", 9_392), ev("el", "started", 9_400), stoppedBy("el", 9_406, "holder", "l")],
        races: [race],
        until: 12_000,
      });
      assert.deepEqual(reversed.violations.map((v) => v.kind), ["overlap", "lost"]);
    });
  });

  it("fails a tenure peer that stopped leading by itself, and says why", () => {
    const verdict = check({ events: [ev("a", "started", 0), { process: "a", event: "work_stopped", mono: 2_000, why: "renewDeadline" }] });
    assert.deepEqual(verdict.violations.map((v) => v.kind), ["lost"]);
    assert.match(verdict.report, /a stopped leading by itself at 2\.000 s \(renewDeadline\)/);
    const asked = check({ events: [ev("a", "started", 0), { process: "a", event: "work_stopped", mono: 2_000, why: "stopped" }] });
    assert.equal(asked.ok, true, asked.report);
  });

  it("ends a SIGKILLed leader's interval at the kill: a successor after it is fine, one before it is not", () => {
    const after = check({ events: [ev("a", "started", 0), ev("b", "started", 3_200)], kills: [kill("a", 200)], exits: [exit("a", 210, null, "SIGKILL")] });
    assert.equal(after.ok, true, after.report);
    assert.deepEqual(after.intervals[0], { process: "a", start: 0, end: 200, endedBy: "SIGKILL" });

    const before = check({ events: [ev("a", "started", 0), ev("b", "started", 150)], kills: [kill("a", 200)], exits: [exit("a", 210, null, "SIGKILL")] });
    assert.equal(before.ok, false);
    assert.deepEqual(before.violations.map((v) => v.kind), ["overlap"]);
  });

  it("a leader that never printed stopped and was not killed leads until the end: a second leader overlaps", () => {
    const verdict = check({ events: [ev("a", "started", 0), ev("b", "started", 10_000)], until: 20_000 });
    assert.deepEqual(verdict.violations.map((v) => v.kind), ["overlap"]);
  });

  it("orders each process's lines by time, not by arrival", () => {
    const verdict = check({ events: [ev("b", "started", 600), ev("a", "stopped", 500), ev("a", "started", 0)] });
    assert.equal(verdict.ok, true, verdict.report);
  });

  it("finds overlaps that are not adjacent in start order", () => {
    // a covers everything; b and c are one after the other inside it.
    const verdict = check({
      events: [ev("a", "started", 0), ev("b", "started", 100), ev("b", "stopped", 200), ev("c", "started", 300), ev("c", "stopped", 400), ev("a", "stopped", 1_000)],
    });
    assert.deepEqual(verdict.violations.map((v) => v.kind), ["overlap", "overlap"]);
  });

  it("counts every process's terms separately (a process that leads twice)", () => {
    const verdict = check({
      events: [ev("a", "started", 0), ev("a", "stopped", 100), ev("b", "started", 100), ev("b", "stopped", 200), ev("a", "started", 200), ev("a", "stopped", 300)],
    });
    assert.equal(verdict.ok, true, verdict.report);
    assert.equal(verdict.intervals.length, 3);
  });

  it("ignores stopped without started (client-go calls OnStoppedLeading even when it never led)", () => {
    const verdict = check({ events: [ev("a", "started", 0), ev("b", "stopped", 50)], kills: [kill("b", 40, "SIGTERM")], exits: [exit("b", 60)] });
    assert.equal(verdict.ok, true, verdict.report);
    assert.equal(verdict.intervals.length, 1);
  });

  it("measures recovery after a crash and flags a late or missing leader", () => {
    const events = [ev("a", "started", 0), ev("b", "started", 3_400)];
    const onTime = check({ events, kills: [kill("a", 100)], deadlines: [{ after: 100, within: 3_500, why: "crash of a", from: "a" }] });
    assert.equal(onTime.ok, true, onTime.report);
    assert.equal(onTime.recoveries[0]?.took, 3_300);
    assert.equal(onTime.recoveries[0]?.leader, "b");

    const late = check({ events, kills: [kill("a", 100)], deadlines: [{ after: 100, within: 3_000, why: "crash of a", from: "a" }] });
    assert.deepEqual(late.violations.map((v) => v.kind), ["no-leader"]);
    assert.match(late.report, /crash of a: the next leader, b, started 3300 ms after 0\.100 s, beyond the bound of 3000 ms/);

    const none = check({ events: [ev("a", "started", 0)], kills: [kill("a", 100)], deadlines: [{ after: 100, within: 3_000, why: "crash of a", from: "a" }] });
    assert.match(none.report, /crash of a: no leader started after 0\.100 s/);
  });

  it("flags a take-over sooner than the crashed leader's lease allows", () => {
    const events = [ev("a", "started", 0), ev("b", "started", 1_100)];
    const verdict = check({ events, kills: [kill("a", 100)], deadlines: [{ after: 100, within: 5_000, notBefore: 2_400, why: "crash of a", from: "a" }] });
    assert.deepEqual(verdict.violations.map((v) => v.kind), ["early"]);
    assert.match(verdict.report, /crash of a: b took over 1000 ms after 0\.100 s, sooner than the lease allows \(2400 ms\)/);
    const fine = check({ events, kills: [kill("a", 100)], deadlines: [{ after: 100, within: 5_000, notBefore: 900, why: "crash of a", from: "a" }] });
    assert.equal(fine.ok, true, fine.report);
  });

  it("does not count the crashed process itself as the recovery", () => {
    const verdict = check({
      events: [ev("a", "started", 0), ev("a", "stopped", 50), ev("a", "started", 60)],
      deadlines: [{ after: 55, within: 1_000, why: "release by a", from: "a" }],
    });
    assert.deepEqual(verdict.violations.map((v) => v.kind), ["no-leader"]);
  });

  it("flags nonsense: started twice, an exit nobody asked for, a graceful stop without stopped or with a failure code", () => {
    const verdict = check({
      events: [ev("a", "started", 0), ev("a", "started", 10), ev("a", "stopped", 20), ev("c", "ready", 0)],
      kills: [kill("b", 100, "SIGTERM"), kill("c", 100, "SIGTERM")],
      exits: [exit("a", 30, 1), exit("b", 110, 0), exit("c", 110, 1)],
    });
    assert.deepEqual(verdict.violations.map((v) => v.kind), ["malformed", "unexpected-exit", "unexpected-exit", "unexpected-exit"]);
    assert.match(verdict.report, /a printed "started" at 0\.010 s while already leading since 0\.000 s/);
    assert.match(verdict.report, /a exited by itself at 0\.030 s \(code 1\)/);
    assert.match(verdict.report, /b was stopped with SIGTERM but printed no "stopped" and exited with code 0/);
    assert.match(verdict.report, /c was stopped with SIGTERM but printed no "stopped" and exited with code 1/);
  });

  it("a leader that exits without stopped leads until its exit", () => {
    const verdict = check({ events: [ev("a", "started", 0), ev("b", "started", 40)], exits: [exit("a", 30, 1)] });
    assert.deepEqual(verdict.intervals[0], { process: "a", start: 0, end: 30, endedBy: "exit" });
    assert.deepEqual(verdict.violations.map((v) => v.kind), ["unexpected-exit"]);
  });

  it("refuses events on a clock that is not CLOCK_MONOTONIC, by name, instead of comparing them", () => {
    // In isolation these intervals are fine; on Deno's or Bun's own clock (zero at their start)
    // they mean nothing next to the others, so nothing is judged at all.
    const events = [ev("go", "started", 10_000_000), ev("go", "stopped", 10_000_100), { ...ev("deno", "started", 150), clock: "process" }];
    const verdict = check({ events, deadlines: [{ after: 10_000_100, within: 1_000, why: "release by go", from: "go" }] });
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.violations.map((v) => v.kind), ["clock"]);
    assert.match(verdict.report, /deno timed its lines on its "process" clock, which is not CLOCK_MONOTONIC/);
    assert.deepEqual(verdict.intervals, []);
    assert.deepEqual(verdict.recoveries, []);
    // A line that names no clock where one was expected (the fleet calls it "undeclared") likewise.
    assert.deepEqual(check({ events: [{ ...ev("a", "started", 0), clock: "undeclared" }] }).violations.map((v) => v.kind), ["clock"]);
  });

  it("compares synced clocks with the others, and calls a handover closer than their error an overlap", () => {
    const synced = (process: string, event: string, mono: number): PeerEvent => ({ process, event, mono, clock: "synced", uncertainty: 0.2 });
    const apart = check({ events: [ev("go", "started", 0, undefined), ev("go", "stopped", 100), synced("deno", "started", 100.5), { ...ev("node", "started", 900), clock: "monotonic" }], kills: [kill("deno", 800)] });
    assert.equal(apart.ok, true, apart.report);
    assert.deepEqual(apart.intervals[1], { process: "deno", start: 100.5, end: 800, endedBy: "SIGKILL", uncertainty: { start: 0.2, end: 0 } });

    // 0.1 ms after the end by the clocks, but either could be 0.2 ms off: the order is unknown.
    const close = check({ events: [synced("deno", "started", 0), synced("deno", "work_stopped", 100), synced("bun", "started", 100.1)] });
    assert.deepEqual(close.violations.map((v) => v.kind), ["overlap"]);
    assert.match(close.report, /maybe two leaders: deno led \[0\.000 s, 0\.100 s\) \(ended by work_stopped\) and bun led .*: 0\.100 ms apart, less than their clocks' uncertainty \(0\.400 ms\)/);
    // A real overlap is still one.
    const over = check({ events: [synced("deno", "started", 0), synced("bun", "started", 50), synced("deno", "work_stopped", 100)] });
    assert.match(over.report, /two leaders: deno led .* 50\.0 ms of overlap/);
  });

  it("bounds: watching followers within leaseDuration + retryPeriod; polling ones one more jittered poll; never before the lease could have expired", () => {
    const timings = { leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500 };
    assert.equal(recoveryBound(timings, "watching"), 3_500);
    assert.equal(recoveryBound(timings, "polling"), 5_700);
    assert.equal(handoverBound(timings, "watching"), 1_000);
    assert.equal(handoverBound(timings, "polling"), 1_400);
    assert.equal(earliestTakeover(timings, "micro"), 1_900, "tenure renews once a second at most");
    assert.equal(earliestTakeover(timings, "second"), 900);
  });
});
