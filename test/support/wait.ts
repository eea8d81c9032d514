/** Real-time waiting, for tests against real servers and processes. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 10 ms until it holds; false after `limit` ms. */
export const eventually = async (check: () => boolean | Promise<boolean>, limit = 10_000): Promise<boolean> => {
  const end = performance.now() + limit;
  while (performance.now() < end) {
    if (await check()) return true;
    await sleep(10);
  }
  return check();
};
