/**
 * VirtualClock (`tenure/testing`), which every timed test here and users' own tests stand on: time
 * moves only when advanced, timers fire in order at their time, what a timer starts settles before
 * the next one fires, and derived clocks keep their rate, offset and stalls.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { settle, VirtualClock } from "../../adapters/virtual-clock.ts";

/** Records `[name, now]` for each timer that fires. */
const recorder = (clock: { now(): number }) => {
  const fired: (readonly [string, number])[] = [];
  return { fired, timer: (name: string) => () => void fired.push([name, clock.now()]) };
};

describe("VirtualClock", () => {
  it("starts where told, and its wall clock moves with it", async () => {
    const clock = new VirtualClock(1_000, Date.UTC(2030, 0, 1));
    assert.equal(clock.now(), 1_000);
    assert.equal(clock.wall(), Date.UTC(2030, 0, 1));
    await clock.advance(2_500);
    assert.equal(clock.now(), 3_500);
    assert.equal(clock.wall(), Date.UTC(2030, 0, 1) + 2_500);
  });

  it("does not move by itself", async () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    clock.setTimer(10, r.timer("a"));
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(clock.now(), 0);
    assert.deepEqual(r.fired, []);
  });

  it("fires timers in time order, ties in the order they were set, each at its own time", async () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    clock.setTimer(300, r.timer("c"));
    clock.setTimer(100, r.timer("a"));
    clock.setTimer(200, r.timer("b1"));
    clock.setTimer(200, r.timer("b2"));
    await clock.advance(250);
    assert.deepEqual(r.fired, [["a", 100], ["b1", 200], ["b2", 200]]);
    assert.equal(clock.now(), 250);
    await clock.advance(50);
    assert.deepEqual(r.fired.at(-1), ["c", 300]);
  });

  it("a cancelled timer never fires, and next() skips it", async () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    const cancel = clock.setTimer(100, r.timer("cancelled"));
    clock.setTimer(200, r.timer("kept"));
    cancel();
    assert.equal(clock.next(), 200);
    await clock.advance(1_000);
    assert.deepEqual(r.fired, [["kept", 200]]);
    assert.equal(clock.next(), undefined);
  });

  it("a timer set in the past fires at the present, not back in time", async () => {
    const clock = new VirtualClock(500);
    const r = recorder(clock);
    clock.setTimer(100, r.timer("late"));
    assert.equal(clock.next(), 500);
    await clock.advance(0);
    assert.deepEqual(r.fired, [["late", 500]]);
  });

  it("what a timer starts settles before the next timer fires", async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    clock.setTimer(100, () => {
      void Promise.resolve().then(() => Promise.resolve()).then(() => order.push("chain of the first"));
    });
    clock.setTimer(100, () => void order.push("second"));
    await clock.advance(100);
    assert.deepEqual(order, ["chain of the first", "second"]);
  });

  it("a timer set by a timer fires in the same advance when it falls due", async () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    clock.setTimer(100, () => void clock.setTimer(clock.now() + 50, r.timer("child")));
    await clock.advance(149);
    assert.deepEqual(r.fired, []);
    await clock.advance(1);
    assert.deepEqual(r.fired, [["child", 150]]);
  });

  it("step() fires just the next timer, moving time to it", async () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    clock.setTimer(100, r.timer("a"));
    clock.setTimer(900, r.timer("b"));
    assert.equal(await clock.step(), true);
    assert.deepEqual(r.fired, [["a", 100]]);
    assert.equal(clock.now(), 100);
    assert.equal(await clock.step(), true);
    assert.equal(clock.now(), 900);
    assert.equal(await clock.step(), false);
  });

  it("jump() moves time without firing; what fell due fires, in order, at the next advance", async () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    clock.setTimer(100, r.timer("a"));
    clock.setTimer(200, r.timer("b"));
    clock.jump(1_000);
    assert.equal(clock.now(), 1_000);
    assert.deepEqual(r.fired, []);
    await clock.advance(0);
    assert.deepEqual(r.fired, [["a", 1_000], ["b", 1_000]]);
  });

  it("until() stops as soon as the condition holds, and gives up at the limit", async () => {
    const clock = new VirtualClock();
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      clock.setTimer(clock.now() + 100, tick);
    };
    clock.setTimer(100, tick);
    assert.equal(await clock.until(() => ticks === 3), true);
    assert.equal(clock.now(), 300);
    assert.equal(await clock.until(() => false, 1_000), false);
    assert.equal(clock.now(), 1_300);
  });

  it("settle() lets pending promise callbacks run", async () => {
    let done = false;
    void Promise.resolve().then(() => Promise.resolve()).then(() => (done = true));
    await settle();
    assert.equal(done, true);
  });
});

describe("derived clocks", () => {
  it("run at their rate and offset, and fire when their own time is reached", async () => {
    const base = new VirtualClock();
    const fast = base.derive(2, 1_000);
    const r = recorder(fast);
    assert.equal(fast.now(), 1_000);
    fast.setTimer(1_500, r.timer("at 1500"));
    await base.advance(249.99); // 1499.98 on the derived clock
    assert.deepEqual(r.fired, []);
    await base.advance(0.02);
    assert.equal(r.fired.length, 1);
    // Never early: when it fires, the derived clock has reached its time despite floating point.
    assert.ok(r.fired[0]![1] >= 1_500 && r.fired[0]![1] < 1_500.01, `fired at ${r.fired[0]![1]}`);
    assert.equal(fast.wall(), base.wall() + 1_000);
  });

  it("a stall holds their timers; what fell due fires in order when it ends, other clocks unaffected", async () => {
    const base = new VirtualClock();
    const stalled = base.derive();
    const other = base.derive();
    const r = recorder(base);
    stalled.setTimer(100, r.timer("a"));
    stalled.setTimer(200, r.timer("b"));
    other.setTimer(150, r.timer("other"));
    stalled.stall(500);
    assert.equal(stalled.stalled(), true);
    await base.advance(499);
    assert.deepEqual(r.fired.map(([name]) => name), ["other"]);
    assert.equal(stalled.stalled(), true);
    await base.advance(1);
    assert.deepEqual(r.fired.map(([name]) => name), ["other", "a", "b"]);
    assert.deepEqual(r.fired.slice(1).map(([, at]) => at), [500, 500]);
    await base.advance(1);
    assert.equal(stalled.stalled(), false);
  });

  it("a cancelled timer of a derived clock never fires, even one deferred by a stall", async () => {
    const base = new VirtualClock();
    const d = base.derive();
    const r = recorder(base);
    const early = d.setTimer(100, r.timer("early"));
    d.stall(300);
    await base.advance(200); // due, deferred to the stall's end
    early();
    await base.advance(1_000);
    assert.deepEqual(r.fired, []);
  });
});
