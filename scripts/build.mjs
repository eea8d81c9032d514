// `npm run build`: the published package, ESM + .d.ts, into a clean dist/.
//
// tsc rewrites `./x.ts` to `./x.js` in the JavaScript it emits (rewriteRelativeImportExtensions),
// but keeps `./x.ts` in declaration files (microsoft/TypeScript#61037). TypeScript itself copes,
// Deno does not: type-checking a program that uses the npm package fails with "Cannot find module
// dist/src/elector.ts". So the declarations get the same `.js` specifiers as the code.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");

rmSync(dist, { recursive: true, force: true }); // no stale files from removed modules in the package
const tsc = join(root, "node_modules", ".bin", process.platform === "win32" ? "tsc.cmd" : "tsc");
const built = spawnSync(tsc, ["-p", join(root, "tsconfig.build.json")], { stdio: "inherit", shell: process.platform === "win32" });
if (built.status !== 0) process.exit(built.status ?? 1);

// `from "./a.ts"`, `import("../b.ts")`, `export * from "./c.ts"`: relative specifiers only.
const SPECIFIER = /((?:\bfrom|\bimport)\s*\(?\s*["'])(\.{1,2}\/[^"'\n]*?)\.ts(["'])/g;
let files = 0;
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, "utf8");
  const fixed = text.replace(SPECIFIER, "$1$2.js$3");
  if (fixed !== text) {
    writeFileSync(file, fixed);
    files++;
  }
}
console.log(`dist/: built; .ts specifiers rewritten to .js in ${files} declaration files`);
