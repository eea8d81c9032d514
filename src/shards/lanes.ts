/**
 * Lanes: at most `size` tasks at once, the rest waiting in order of arrival. The lease set sends
 * its single-lease requests through them, which bounds both the load one replica puts on the API
 * server and the connections a pooling HTTP/1.1 fetch opens.
 *
 * @module
 */

/** Runs at most `size` tasks at once, the rest in order of arrival; a task whose signal aborts while waiting never runs. */
export const lanesOf = (size: number): (<T>(task: () => Promise<T>, signal: AbortSignal) => Promise<T>) => {
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
        const turn = (): void => (signal.removeEventListener("abort", give), resolve());
        const give = (): void => {
          waiting.splice(waiting.indexOf(turn), 1);
          reject(signal.reason);
        };
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
