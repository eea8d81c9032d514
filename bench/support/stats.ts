/** Small statistics and number formatting for the benchmarks' printouts. */

/** The median (the mean of the two middle values for an even count); NaN when empty. */
export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return NaN;
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Nearest-rank quantile (so p99 of fewer than 100 values is the maximum); NaN when empty. */
export const quantile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] as number;
};

export const max = (values: readonly number[]): number => (values.length === 0 ? NaN : Math.max(...values));
export const min = (values: readonly number[]): number => (values.length === 0 ? NaN : Math.min(...values));
export const mean = (values: readonly number[]): number =>
  values.length === 0 ? NaN : values.reduce((sum, v) => sum + v, 0) / values.length;

/** A number with thousands separators and `digits` decimals. */
export const num = (value: number, digits = 0): string =>
  Number.isFinite(value)
    ? value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "n/a";

export const ms = (value: number, digits = 1): string => (Number.isFinite(value) ? `${num(value, digits)} ms` : "n/a");

export const bytes = (value: number): string => {
  if (!Number.isFinite(value)) return "n/a";
  const abs = Math.abs(value);
  if (abs >= 1024 * 1024) return `${num(value / (1024 * 1024), 2)} MiB`;
  if (abs >= 10 * 1024) return `${num(value / 1024, 1)} KiB`;
  return `${num(value, 0)} B`;
};

/** tenure / peer, printed as `0.42x`; n/a when either is missing. */
export const ratio = (tenure: number, peer: number | undefined): string =>
  peer === undefined || !Number.isFinite(peer) || !Number.isFinite(tenure) || peer === 0 ? "n/a" : `${num(tenure / peer, 2)}x`;
