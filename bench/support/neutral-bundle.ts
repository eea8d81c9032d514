/**
 * One bundle as a user's bundler would make it for a runtime with no condition of its own: esbuild,
 * platform neutral (only the `default` export condition), minified, then gzipped. Shared by the
 * size budgets (bench/size.ts), the benchmark's figure (bundle.ts) and the edge runtimes' builds
 * (test/edge/bundle.ts).
 */
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";

export interface NeutralBundle {
  readonly code: string;
  readonly minified: number;
  readonly gzipped: number;
  readonly meta: Metafile;
  /** Minified bytes of the output by input file. */
  readonly contributions: readonly (readonly [string, number])[];
  /** Inputs a `default`-condition build must never reach (undici, `node:`): should be empty. */
  readonly nodeOnly: readonly string[];
}

export interface NeutralEntry {
  readonly contents: string;
  readonly resolveDir: string;
  readonly sourcefile: string;
  readonly loader?: "js" | "ts";
  readonly format?: "esm" | "iife";
  /** Modules the runtime brings (e.g. `cloudflare:*`). */
  readonly external?: readonly string[];
}

export const bundleNeutral = async (entry: NeutralEntry): Promise<NeutralBundle> => {
  const result = await build({
    stdin: { contents: entry.contents, resolveDir: entry.resolveDir, sourcefile: entry.sourcefile, loader: entry.loader ?? "js" },
    external: [...(entry.external ?? [])],
    bundle: true,
    minify: true,
    format: entry.format ?? "esm",
    platform: "neutral",
    target: "es2022",
    // Only the `default` condition, as a runtime without its own condition resolves.
    conditions: [],
    // fp-ts and io-ts have no exports map: their package.json fields count, as in any bundler.
    mainFields: ["module", "main"],
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error("esbuild wrote no output");
  const meta = result.metafile;
  return {
    code: output.text,
    minified: output.contents.byteLength,
    gzipped: gzipSync(output.contents, { level: 9 }).byteLength,
    meta,
    contributions: Object.values(meta.outputs).flatMap((o) => Object.entries(o.inputs).map(([input, { bytesInOutput }]) => [input, bytesInOutput] as const)),
    nodeOnly: Object.keys(meta.inputs).filter((i) => /(^|\/)node_modules\/undici\/|^node:/.test(i)),
  };
};
