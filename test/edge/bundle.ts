/**
 * Builds what the edge runtimes run, as a user's project would: `npm pack` (which builds dist/),
 * the tarball unpacked as `node_modules/tenure` of a scratch project (its dependencies linked from
 * the repository's node_modules), then esbuild through package.json's exports with no runtime
 * condition, i.e. `tenure/kubernetes` resolves by the `default` condition to entry-web.js.
 *
 * - the Worker: an ES module (`export default` handler + the Durable Object class), minified as
 *   `wrangler deploy --minify` would, for workerd; its size is the number the README reports;
 * - the edge function: a classic script (edge-runtime evaluates scripts) that listens for `fetch`;
 * - examples/cloudflare/worker.mjs as it is (copied into the scratch project, so that it too
 *   resolves tenure from the tarball), `cloudflare:workers` left to workerd.
 *
 * Each imports only the names it uses, so the sizes are what a user's Worker would carry.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleNeutral } from "../../bench/support/neutral-bundle.ts";
import { ROOT } from "../runtimes/runtimes.ts";

export interface Bundle {
  readonly code: string;
  readonly minified: number;
  readonly gzipped: number;
  /** Modules that a `default`-condition build must never reach (undici, `node:`): must be empty. */
  readonly nodeOnly: readonly string[];
  /** The tenure files in the bundle, relative to the package: proves it came from the tarball's dist/. */
  readonly tenureFiles: readonly string[];
  /** Minified bytes of the program's own code (outside node_modules), the rest being tenure and its dependencies. */
  readonly own: number;
}

export interface Bundles {
  readonly worker: Bundle;
  readonly edgeFunction: Bundle;
  readonly example: Bundle;
  readonly tarball: string;
  dispose(): Promise<void>;
}

const run = (file: string, args: readonly string[], cwd: string): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { cwd, maxBuffer: 16 << 20, timeout: 300_000 }, (error, stdout, stderr) =>
      error === null ? resolve(String(stdout)) : reject(new Error(`${file} ${args.join(" ")}: ${error.message}\n${String(stderr)}`)));
  });

const HERE = join(ROOT, "test", "edge");

const WORKER_ENTRY = `
import { createElector, LeadershipLostError } from "tenure";
import { cluster, leaseLock } from "tenure/kubernetes";
import { worker } from ${JSON.stringify(join(HERE, "worker.ts"))};
const { Elector, handler } = worker({ createElector, LeadershipLostError }, { cluster, leaseLock });
export { Elector };
export default handler;
`;

const EDGE_ENTRY = `
import { createElector, LeadershipLostError } from "tenure";
import { cluster, leaseLock } from "tenure/kubernetes";
import { edgeFunction } from ${JSON.stringify(join(HERE, "edge-function.ts"))};
const handle = edgeFunction({ createElector, LeadershipLostError }, { cluster, leaseLock });
addEventListener("fetch", (event) => event.respondWith(handle(event.request)));
`;

const bundle = async (project: string, contents: string, format: "esm" | "iife"): Promise<Bundle> => {
  // The Workers runtime's own modules are external.
  const built = await bundleNeutral({ contents, resolveDir: project, sourcefile: "entry.js", format, external: ["cloudflare:*"] });
  const inputs = Object.keys(built.meta.inputs);
  return {
    code: built.code,
    minified: built.minified,
    gzipped: built.gzipped,
    nodeOnly: built.nodeOnly,
    tenureFiles: inputs.filter((i) => i.includes("node_modules/tenure/")).map((i) => i.slice(i.indexOf("node_modules/tenure/") + 20)),
    own: built.contributions.filter(([input]) => !input.includes("node_modules/")).reduce((sum, [, bytes]) => sum + bytes, 0),
  };
};

export const buildBundles = async (): Promise<Bundles> => {
  const project = await mkdtemp(join(tmpdir(), "tenure-edge-"));
  const packed = await run("npm", ["pack", "--json", "--pack-destination", project], ROOT);
  const [info] = JSON.parse(packed.slice(packed.indexOf("["))) as [{ filename: string }];
  const tarball = join(project, info.filename);
  const modules = join(project, "node_modules");
  await mkdir(join(modules, "tenure"), { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", join(modules, "tenure"), "--strip-components=1"], project);
  const manifest = JSON.parse(await readFile(join(modules, "tenure", "package.json"), "utf8")) as { dependencies: Record<string, string> };
  for (const dependency of Object.keys(manifest.dependencies)) await symlink(join(ROOT, "node_modules", dependency), join(modules, dependency));
  await copyFile(join(ROOT, "examples", "cloudflare", "worker.mjs"), join(project, "example.mjs"));
  return {
    worker: await bundle(project, WORKER_ENTRY, "esm"),
    example: await bundle(project, `export * from "./example.mjs"; export { default } from "./example.mjs";`, "esm"),
    edgeFunction: await bundle(project, EDGE_ENTRY, "iife"),
    tarball,
    dispose: () => rm(project, { recursive: true, force: true }),
  };
};
