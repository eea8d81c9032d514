/**
 * A virtual clock for tests: time moves only when you advance it, timers fire in order, and the
 * promises they start settle before the next timer fires. Derived clocks run at their own rate
 * and offset, and can stall like a blocked event loop.
 *
 * @module
 */
import type { Clock } from "../src/clock.ts";

interface Timer {
  readonly at: number; // on the base timeline
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

const immediate = (globalThis as { setImmediate?: <T>(fn: (value: T) => void, value: T) => void }).setImmediate;

/** Lets pending promise callbacks run: one macrotask turn, with no real waiting. */
export const settle = (): Promise<void> =>
  new Promise((resolve) => {
    if (immediate) return immediate(resolve, undefined);
    const channel = new MessageChannel();
    channel.port1.onmessage = () => (channel.port1.close(), resolve());
    channel.port2.postMessage(null);
  });

export class VirtualClock implements Clock {
  #now: number;
  readonly #wallOrigin: number;
  #seq = 0;
  readonly #timers: Timer[] = [];

  /** Starts at monotonic `start` ms and wall time `wallOrigin` (epoch ms). */
  constructor(start = 0, wallOrigin: number = Date.UTC(2026, 10, 23, 18, 0, 0)) {
    this.#now = start;
    this.#wallOrigin = wallOrigin - start;
  }

  now(): number {
    return this.#now;
  }

  wall(): number {
    return this.#wallOrigin + this.#now;
  }

  setTimer(at: number, fn: () => void): () => void {
    const timer: Timer = { at: Math.max(at, this.#now), seq: this.#seq++, fn, cancelled: false };
    // After every timer due at the same time or earlier; most new timers go last.
    const timers = this.#timers;
    let index = timers.length;
    while (index > 0 && (timers[index - 1] as Timer).at > timer.at) index--;
    if (index === timers.length) timers.push(timer);
    else timers.splice(index, 0, timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** When the next timer is due, if any. */
  next(): number | undefined {
    this.#prune();
    return this.#timers[0]?.at;
  }

  /** Fires the next timer (moving time to it) and lets what it started settle; false when none is left. */
  step(): Promise<boolean> {
    this.#prune();
    const timer = this.#timers.shift();
    if (timer === undefined) return Promise.resolve(false);
    this.#now = Math.max(this.#now, timer.at);
    timer.fn();
    // settle(), resolving to true: this runs once per timer in benchmarks.
    return new Promise((resolve) => (immediate ? immediate(resolve, true) : settle().then(() => resolve(true))));
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  async advanceTo(target: number): Promise<void> {
    await settle();
    for (;;) {
      this.#prune();
      const timer = this.#timers[0];
      if (timer === undefined || timer.at > target) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, timer.at);
      timer.fn();
      await settle();
    }
    this.#now = Math.max(this.#now, target);
    await settle();
  }

  /**
   * Moves time forward without firing anything, as when the event loop is blocked; the timers
   * that fell due fire at the next `advance`.
   */
  jump(ms: number): void {
    this.#now += ms;
  }

  /** Advances until `done()` holds, checking after every timer; gives up after `limit` ms. */
  async until(done: () => boolean, limit = 600_000): Promise<boolean> {
    const end = this.#now + limit;
    await settle();
    while (!done()) {
      const at = this.next();
      if (at === undefined || at > end) {
        await this.advanceTo(end);
        return done();
      }
      await this.advanceTo(at);
    }
    return true;
  }

  /**
   * A clock that runs at `rate` times this one's speed, `offset` ms ahead, for one process.
   * `stall(ms)` freezes its timers as a blocked event loop would: what fell due meanwhile fires,
   * in order, when the stall ends.
   */
  derive(rate = 1, offset = 0): DerivedClock {
    return new DerivedClock(this, rate, offset);
  }

  #prune(): void {
    while (this.#timers[0]?.cancelled) this.#timers.shift();
  }
}

export class DerivedClock implements Clock {
  readonly #base: VirtualClock;
  readonly #rate: number;
  readonly #offset: number;
  #stalledUntil = -Infinity;

  constructor(base: VirtualClock, rate: number, offset: number) {
    this.#base = base;
    this.#rate = rate;
    this.#offset = offset;
  }

  now(): number {
    return this.#offset + this.#base.now() * this.#rate;
  }

  wall(): number {
    return this.#base.wall() + this.#offset;
  }

  setTimer(at: number, fn: () => void): () => void {
    // Rounded up, so that when it fires now() has reached `at` despite floating point.
    const baseAt = (at - this.#offset) / this.#rate + 1e-6;
    let cancelled = false;
    let cancelInner = (): void => {};
    const fire = (): void => {
      if (cancelled) return;
      // Stalled: wait for the stall to end; everything due meanwhile then fires in order.
      if (this.#base.now() < this.#stalledUntil) cancelInner = this.#base.setTimer(this.#stalledUntil, fire);
      else fn();
    };
    cancelInner = this.#base.setTimer(Math.max(baseAt, this.#stalledUntil), fire);
    return () => {
      cancelled = true;
      cancelInner();
    };
  }

  /** Blocks this clock's timers for `ms` of base time from now. */
  stall(ms: number): void {
    this.#stalledUntil = Math.max(this.#stalledUntil, this.#base.now() + ms);
  }

  /** Whether a stall is in progress, up to and including its last instant (when what fell due fires). */
  stalled(): boolean {
    return this.#base.now() <= this.#stalledUntil;
  }
}
