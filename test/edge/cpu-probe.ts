/**
 * What a runtime's clock does during CPU work, measured from inside: a busy loop of a fixed number of
 * iterations (no clock decides when it ends), `performance.now()` read before and after it, and
 * again after one timer turn.
 *
 * Node (and so edge-runtime) and workerd advance the clock during the loop. Cloudflare's hosted
 * runtime does not: as a Spectre mitigation its `performance.now()` and `Date.now()` advance only
 * at I/O (developers.cloudflare.com/workers/runtime-apis/performance says so, and that local workerd
 * does not do this). So a hosted Worker's `isLeader()`, judged against renewDeadline at call time,
 * is only as fresh as its last I/O or timer; this probe shows that workerd cannot reproduce that.
 *
 * @module
 */

export interface CpuProbe {
  /** Milliseconds the runtime's clock moved during the loop. */
  readonly during: number;
  /** Milliseconds it moved from before the loop to after one timer turn. */
  readonly after: number;
}

export const cpuProbe = async (iterations: number): Promise<CpuProbe> => {
  const start = performance.now();
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0;
  const end = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 0));
  const later = performance.now();
  // Uses x, so that the loop cannot be optimized away.
  return { during: end - start + (x === 0.5 ? 1 : 0), after: later - start };
};
