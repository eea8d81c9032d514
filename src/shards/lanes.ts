/**
 * Lanes: at most `size` tasks at once, the rest waiting in order of arrival, each for at most
 * `maxWait` ms. The lease set sends its single-lease requests through them, which bounds the load
 * one replica puts on the API server and the connections a pooling HTTP/1.1 fetch opens. The wait
 * is bounded because it eats into the request's own timeout: a write sent with little time left
 * may be applied and yet time out, and a lease written that way names a holder that does not
 * know it leads, so everyone waits for it to expire.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { LockError } from "../lock.ts";

export type Lanes = <T>(task: () => Promise<T>, signal: AbortSignal) => Promise<T>;

/** A task whose signal aborts while waiting, or that waits `maxWait`, never runs. */
export const lanesOf = (size: number, clock: Clock, maxWait: number): Lanes => {
  if (!Number.isInteger(size) || size < 1) throw new TypeError(`watchLeases: concurrency must be a whole number >= 1, got ${size}`);
  let running = 0;
  const waiting: (() => void)[] = [];
  // A finished task hands its lane straight to the next in line, so no newcomer can slip in between.
  const release = (): void => {
    const turn = waiting.shift();
    if (turn === undefined) running--;
    else turn();
  };
  return async <T>(task: () => Promise<T>, signal: AbortSignal): Promise<T> => {
    if (running < size) running++;
    else {
      await new Promise<void>((resolve, reject) => {
        const done = (): void => {
          cancel();
          signal.removeEventListener("abort", give);
        };
        const turn = (): void => (done(), resolve());
        const leave = (reason: unknown): void => {
          done();
          waiting.splice(waiting.indexOf(turn), 1);
          reject(reason);
        };
        const give = (): void => leave(signal.reason);
        const cancel = clock.setTimer(clock.now() + maxWait, () =>
          leave(new LockError("TooManyRequests", `not sent: ${size} requests were in flight for ${maxWait} ms (watchLeases' concurrency)`)));
        waiting.push(turn);
        signal.addEventListener("abort", give, { once: true });
      });
    }
    try {
      return await task();
    } finally {
      release();
    }
  };
};
