/**
 * The Clock port: the only way the driver learns the time or waits. Swap in a virtual clock to
 * test election logic without sleeping.
 *
 * @module
 */

export interface Clock {
  /** Monotonic milliseconds from an arbitrary origin; every decision uses only differences of these. */
  now(): number;
  /** Wall-clock epoch milliseconds; only written into records for people to read, never used to decide. */
  wall(): number;
  /** Calls `fn` once `now()` has reached `at`. Returns a function that cancels the timer. */
  setTimer(at: number, fn: () => void): () => void;
}

/** The system's monotonic clock (`performance.now()`) and timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wall: () => Date.now(),
  setTimer: (at, fn) => {
    // Whole milliseconds, rounded up: Node keeps one timer list per distinct duration, and a
    // fraction made one per elector (about 0.5 KB each).
    const handle = setTimeout(fn, Math.max(0, Math.ceil(at - performance.now())));
    return () => clearTimeout(handle);
  },
};
