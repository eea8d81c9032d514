/**
 * The size of a minimal in-cluster Lease election program, bundled from the sources with esbuild
 * as a bundler resolving `tenure` and `tenure/kubernetes` through package.json's `default` export
 * condition would (platform neutral, no runtime condition), minified, then gzipped.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { bundleNeutral } from "./neutral-bundle.ts";
import { repoRoot } from "./process.ts";

export interface BundleSize {
  readonly minified: number;
  readonly gzipped: number;
  /** The largest contributors to the minified output: [package or folder, bytes]. */
  readonly contributors: readonly (readonly [string, number])[];
  /** Which source files the `default` condition picked. */
  readonly entries: { readonly core: string; readonly kubernetes: string };
}

type Exports = Record<string, string | Record<string, string>>;

/** The source file behind an export's `default` target: ./dist/x/y.js -> x/y.ts. */
const sourceOf = (root: string, exports: Exports, subpath: string): string => {
  const entry = exports[subpath];
  const target = typeof entry === "string" ? entry : entry?.["default"];
  if (target === undefined) throw new Error(`package.json exports has no default for ${subpath}`);
  const source = target.replace(/^\.\/dist\//, "").replace(/\.js$/, ".ts");
  if (!existsSync(join(root, source))) throw new Error(`the default export of ${subpath} (${target}) has no source at ${source}`);
  return source;
};

const program = (core: string, kubernetes: string): string => `
import { createElector } from "./${core}";
import { inCluster, leaseLock } from "./${kubernetes}";

const cluster = await inCluster();
const elector = createElector({
  lock: leaseLock(cluster, { name: "my-controller" }),
  identity: crypto.randomUUID(),
  onStartedLeading: async (signal) => {
    console.log("leading");
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
  },
  onStoppedLeading: () => console.log("stopped leading"),
});
await elector.run();
`;

const bucket = (path: string): string => {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg !== null) return pkg[1] as string;
  return path.split("/").slice(0, 2).join("/");
};

export const bundleSize = async (): Promise<BundleSize> => {
  const root = repoRoot();
  const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { exports: Exports };
  const entries = { core: sourceOf(root, pkg.exports, "."), kubernetes: sourceOf(root, pkg.exports, "./kubernetes") };
  const bundle = await bundleNeutral({ contents: program(entries.core, entries.kubernetes), resolveDir: root, sourcefile: "minimal-election.ts", loader: "ts" });
  const sizes = new Map<string, number>();
  for (const [input, bytes] of bundle.contributions) sizes.set(bucket(input), (sizes.get(bucket(input)) ?? 0) + bytes);
  return {
    minified: bundle.minified,
    gzipped: bundle.gzipped,
    contributors: [...sizes].sort((a, b) => b[1] - a[1]),
    entries,
  };
};
