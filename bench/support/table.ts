/** Plain-text tables for the benchmarks' output. */

export type Row = readonly string[];

/** Prints `rows` under `header` with aligned columns (the first left-aligned, the rest right-aligned). */
export const printTable = (header: Row, rows: readonly Row[]): void => {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  const line = (row: Row): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ").trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
};

/** A section heading. */
export const heading = (text: string): void => console.log(`\n== ${text}`);
