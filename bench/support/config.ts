/** Run lengths of the cluster benchmarks, from the environment; BENCH_QUICK=1 is a smoke test. */

export interface RunLength {
  /** Minutes of each request-rate window. */
  readonly minutes: number;
  readonly handovers: number;
  readonly crashes: number;
  readonly quick: boolean;
}

/** A positive number from the environment variable `name`, else `fallback`. */
export const positive = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
};

/** BENCH_MINUTES, BENCH_HANDOVERS, BENCH_CRASHES override; BENCH_QUICK=1 shortens all three. */
export const runLength = (full: { readonly minutes: number; readonly handovers: number; readonly crashes: number }): RunLength => {
  const quick = process.env["BENCH_QUICK"] === "1";
  return {
    quick,
    minutes: positive("BENCH_MINUTES", quick ? 0.5 : full.minutes),
    handovers: Math.round(positive("BENCH_HANDOVERS", quick ? 5 : full.handovers)),
    crashes: Math.round(positive("BENCH_CRASHES", quick ? 2 : full.crashes)),
  };
};

/** Request-rate timings (client-go's defaults) and the short ones for handovers and crashes. */
export const DEFAULT_TIMINGS = { leaseDuration: 15_000, renewDeadline: 10_000, retryPeriod: 2_000 } as const;
export const SHORT_TIMINGS = { leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500 } as const;
export type Timings = { readonly leaseDuration: number; readonly renewDeadline: number; readonly retryPeriod: number };

export const describeTimings = (t: Timings): string => `${t.leaseDuration / 1000}s/${t.renewDeadline / 1000}s/${t.retryPeriod / 1000}s`;
