/**
 * What npm and JSR users get: the packed tarball holds only the built package; every export target
 * is in it; the `default` condition never reaches undici or `node:` modules; publint and
 * are-the-types-wrong find nothing; a project that installs the tarball type-checks the Deno
 * example; the README shows the tested manifest; and `deno publish --dry-run` accepts the `.ts`
 * sources (no slow types).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT } from "./runtimes.ts";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const run = (file: string, args: readonly string[], cwd: string = ROOT, env: NodeJS.ProcessEnv = {}): Promise<Run> =>
  new Promise((resolve) => {
    execFile(file, [...args], { cwd, env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env }, maxBuffer: 16 << 20, timeout: 300_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });

const bin = (name: string): string => join(ROOT, "node_modules", ".bin", name);
const show = (r: Run): string => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

type Target = string | { readonly [condition: string]: Target };
interface Manifest {
  readonly exports: Record<string, Target>;
  readonly files: readonly string[];
}

const targets = (target: Target, conditions: string[] = []): [string[], string][] =>
  typeof target === "string" ? [[conditions, target]] : Object.entries(target).flatMap(([c, t]) => targets(t, [...conditions, c]));

/** The specifiers a built module imports or re-exports, statically or dynamically. */
const specifiers = (code: string): string[] =>
  [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)].map((m) => m[1]!);

describe("the npm package", () => {
  let work = "";
  let tarball = "";
  let unpacked = "";
  let files: string[] = [];
  let manifest: Manifest;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "tenure-pack-"));
    // npm pack runs prepack, which builds dist/ afresh.
    const packed = await run("npm", ["pack", "--json", "--pack-destination", work]);
    assert.equal(packed.code, 0, show(packed));
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as [{ filename: string; files: { path: string }[]; size: number; unpackedSize: number }];
    tarball = join(work, info.filename);
    files = info.files.map((f) => f.path).sort();
    unpacked = join(work, "unpacked");
    await mkdir(unpacked);
    const untar = await run("tar", ["-xzf", tarball, "-C", unpacked, "--strip-components=1"]);
    assert.equal(untar.code, 0, show(untar));
    manifest = JSON.parse(await readFile(join(unpacked, "package.json"), "utf8")) as Manifest;
    console.log(`${info.filename}: ${files.length} files, ${(info.size / 1024).toFixed(1)} KB packed, ${(info.unpackedSize / 1024).toFixed(1)} KB unpacked`);
  });
  after(() => rm(work, { recursive: true, force: true }));

  it("contains the built code, its declarations, the README, the license and package.json: nothing else", async () => {
    const extra = files.filter((f) => !/^(README\.md|LICENSE|package\.json|dist\/(src|adapters|cli)\/.+\.(js|d\.ts))$/.test(f));
    assert.deepEqual(extra, []);
    for (const needed of ["README.md", "LICENSE", "package.json"]) assert.ok(files.includes(needed), `${needed} is missing`);
    const js = files.filter((f) => f.endsWith(".js"));
    assert.deepEqual(js.filter((f) => !files.includes(f.replace(/\.js$/, ".d.ts"))), [], "every module has its declarations");
    const declarations = files.filter((f) => f.endsWith(".d.ts"));
    const tsSpecifiers = [];
    for (const f of declarations) {
      for (const spec of specifiers(await readFile(join(unpacked, f), "utf8"))) if (/^\.{1,2}\/.*\.ts$/.test(spec)) tsSpecifiers.push(`${f}: ${spec}`);
    }
    assert.deepEqual(tsSpecifiers, [], "declarations import ./x.js, as the code does (scripts/build.mjs)");
  });

  it("holds every target of every export condition", () => {
    const missing = Object.entries(manifest.exports)
      .flatMap(([subpath, target]) => targets(target).map(([conditions, file]) => ({ subpath, conditions, file })))
      .filter(({ file }) => !files.includes(posix.normalize(file)))
      .map(({ subpath, conditions, file }) => `${subpath} [${conditions.join(" > ")}] -> ${file}`);
    assert.deepEqual(missing, []);
  });

  it("the default condition's modules never import undici or node: built-ins; the node condition's do, and the bun condition's only node:http2", async () => {
    const reach = async (entry: string): Promise<Set<string>> => {
      const seen = new Set<string>();
      const external = new Set<string>();
      const visit = async (file: string): Promise<void> => {
        if (seen.has(file)) return;
        seen.add(file);
        for (const spec of specifiers(await readFile(join(unpacked, file), "utf8"))) {
          if (spec.startsWith(".")) await visit(posix.join(posix.dirname(file), spec));
          else external.add(spec);
        }
      };
      await visit(posix.normalize(entry));
      return external;
    };
    const nodeOnly = (spec: string): boolean => spec === "undici" || spec.startsWith("undici/") || spec.startsWith("node:");
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      for (const [conditions, file] of targets(target)) {
        if (!file.endsWith(".js")) continue;
        const imports = [...(await reach(file))];
        const condition = conditions.at(-1) ?? "default";
        if (condition === "node") assert.ok(imports.includes("undici"), `${subpath} [node] should use undici: ${imports.join(", ")}`);
        // Bun's HTTP/2 is its node:http2 (its fetch has none); nothing else of Node's.
        else if (condition === "bun") assert.deepEqual(imports.filter(nodeOnly).filter((i) => i !== "node:http2"), [], `${subpath} [bun] -> ${file} imports ${imports.join(", ")}`);
        else assert.deepEqual(imports.filter(nodeOnly), [], `${subpath} [${condition}] -> ${file} imports ${imports.join(", ")}`);
      }
    }
  });

  it("publint finds nothing, warnings included", async () => {
    const result = await run(bin("publint"), ["run", tarball, "--strict"]);
    console.log(result.stdout.trim());
    assert.equal(result.code, 0, show(result));
    assert.match(result.stdout, /All good!/);
  });

  it("are-the-types-wrong finds nothing (an ESM-only package: node16 from ESM, and bundlers)", async () => {
    const result = await run(bin("attw"), [tarball, "--profile", "esm-only", "--no-definitely-typed", "--format", "table-flipped", "--no-color", "--no-emoji"]);
    console.log(result.stdout.trim());
    assert.equal(result.code, 0, show(result));
  });

  it("a Deno project that installs the tarball from npm type-checks examples/deno against its declarations", async () => {
    const project = join(work, "consumer");
    await mkdir(project);
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { tenure: `file:${tarball}` } }));
    await cp(join(ROOT, "examples", "deno", "main.ts"), join(project, "main.ts"));
    // Its dependencies are in npm's cache since npm ci: no download.
    const installed = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], project);
    assert.equal(installed.code, 0, show(installed));
    const checked = await run(bin("deno"), ["check", "main.ts"], project);
    assert.equal(checked.code, 0, show(checked));
  });
});

describe("the README", () => {
  it("shows the tested manifest (examples/kubernetes.yaml, which examples.test.ts applies) as it is", async () => {
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    const manifest = await readFile(join(ROOT, "examples", "kubernetes.yaml"), "utf8");
    const body = manifest.slice(manifest.indexOf("apiVersion:")).trim();
    assert.ok(readme.includes(body), "README.md should contain examples/kubernetes.yaml from its first apiVersion on, verbatim");
  });
});

describe("the JSR package", () => {
  it("deno publish --dry-run accepts deno.json's exports: types check, no slow types", async () => {
    const result = await run(bin("deno"), ["publish", "--dry-run", "--allow-dirty"]);
    const out = `${result.stdout}${result.stderr}`;
    console.log(out.split("\n").filter((l) => /^(Simulating|Success|error|warning)/i.test(l)).join("\n"));
    assert.equal(result.code, 0, show(result));
    assert.match(out, /Success Dry run complete/);
    assert.doesNotMatch(out, /\/(test|bench|examples|dist|\.build)\//, "only src/ and adapters/ are published");
  });

  it("deno.json and package.json agree on name parts, version, license and subpaths", async () => {
    const deno = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8")) as { name: string; version: string; license: string; exports: Record<string, string> };
    const npm = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { name: string; version: string; license: string; exports: Record<string, unknown> };
    assert.equal(deno.version, npm.version);
    assert.equal(deno.license, npm.license);
    assert.equal(deno.name.split("/")[1], npm.name);
    assert.deepEqual(Object.keys(deno.exports).sort(), Object.keys(npm.exports).filter((k) => k !== "./package.json").sort());
    // Each JSR export is the source of the npm export Deno would pick.
    for (const [subpath, source] of Object.entries(deno.exports)) {
      const target = npm.exports[subpath] as Target;
      const picked = typeof target === "string" ? target : ((target as Record<string, string>)["deno"] ?? (target as Record<string, string>)["default"])!;
      assert.equal(picked, `./dist/${source.slice(2).replace(/\.ts$/, ".js")}`, subpath);
    }
  });
});
