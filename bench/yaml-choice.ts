/**
 * `node .build/bench/yaml-choice.js <folder holding node_modules/yaml>`: the figures behind reading
 * kubeconfig with tenure's own YAML reader rather than the `yaml` package (README, "Reading
 * kubeconfig"). The package is not a dependency, so install it aside first:
 *
 *     npm install --prefix /tmp/yaml-choice yaml@2.9.1 && node .build/bench/yaml-choice.js /tmp/yaml-choice
 *
 * Prints, for each reader: the program `createElector` + `fromKubeconfig` + `leaseLock` bundled as
 * `npm run size` bundles (esbuild, minified, ESM, the default condition; gzip -9), the reader
 * alone, and, in fresh processes (the median of 9), the time to import the reader and parse an EKS
 * kubeconfig once, and per parse after that.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";

const aside = process.argv[2];
if (aside === undefined) {
  console.error("usage: yaml-choice.js <folder holding node_modules/yaml> (npm install --prefix <folder> yaml@2.9.1)");
  process.exit(2);
}
const built = dirname(dirname(fileURLToPath(import.meta.url))); // .build
const work = mkdtempSync(join(tmpdir(), "tenure-yaml-choice-"));
const shim = join(work, "yaml-package.mjs");
// By name, so that the package's export conditions pick its browser build, as for tenure's default condition.
writeFileSync(shim, `import { parse } from "yaml";
export class YamlError extends Error {}
export const parseYaml = (text) => parse(text, { merge: true, uniqueKeys: true });
`);
const swap: Plugin = {
  name: "yaml-package",
  setup: (b) => b.onResolve({ filter: /\/yaml\.(js|ts)$/ }, (a) => (a.importer.includes("kubernetes") ? { path: shim } : undefined)),
};

const bundle = async (contents: string, plugins: Plugin[]): Promise<{ code: Uint8Array; gzipped: number }> => {
  const result = await build({
    stdin: { contents, resolveDir: built, sourcefile: "program.js" },
    bundle: true, minify: true, format: "esm", platform: "neutral", conditions: [], mainFields: ["module", "main"],
    target: "es2022", write: false, logLevel: "silent", plugins, nodePaths: [join(aside, "node_modules")],
  });
  const code = result.outputFiles[0]!.contents;
  return { code, gzipped: gzipSync(code, { level: 9 }).byteLength };
};

const PROGRAM = `
import { createElector } from "./src/index.js";
import { fromKubeconfig, leaseLock } from "./adapters/kubernetes/entry-web.js";
const cluster = await fromKubeconfig();
await createElector({ lock: leaseLock(cluster, { name: "x" }), identity: "a", onStartedLeading: () => {}, onStoppedLeading: () => {} }).run(new AbortController().signal);
`;
const EKS = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${"QUJD".repeat(150)}
    server: https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com
  name: arn:aws:eks:us-west-2:123456789012:cluster/prod
contexts:
- context:
    cluster: arn:aws:eks:us-west-2:123456789012:cluster/prod
    namespace: controllers
    user: arn:aws:eks:us-west-2:123456789012:cluster/prod
  name: prod
current-context: prod
kind: Config
preferences: {}
users:
- name: arn:aws:eks:us-west-2:123456789012:cluster/prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args: [--region, us-west-2, eks, get-token, --cluster-name, prod, --output, json]
      command: aws
      env: null
      interactiveMode: IfAvailable
      provideClusterInfo: false
`;
const kubeconfig = join(work, "config");
writeFileSync(kubeconfig, EKS);
const STARTUP = `
const t0 = performance.now();
const { parseYaml } = await import(process.argv[1]);
const text = (await import("node:fs")).readFileSync(${JSON.stringify(kubeconfig)}, "utf8");
parseYaml(text);
const t1 = performance.now();
for (let i = 0; i < 2000; i++) parseYaml(text);
console.log(JSON.stringify([t1 - t0, ((performance.now() - t1) / 2000) * 1000]));
`;

for (const [name, plugins] of [["tenure's reader", []], ["the yaml package", [swap]]] as const) {
  const program = await bundle(PROGRAM, [...plugins]);
  const reader = await bundle(`export { parseYaml } from ${JSON.stringify(plugins.length === 0 ? "./adapters/kubernetes/yaml.js" : shim)};`, []);
  const file = join(work, `${name.replace(/\W+/g, "-")}.mjs`);
  writeFileSync(file, reader.code);
  const runs = Array.from({ length: 9 }, () => JSON.parse(spawnSync(process.execPath, ["--input-type=module", "-e", STARTUP, file], { encoding: "utf8" }).stdout) as [number, number]);
  const median = (values: number[], digits: number): string => values.sort((a, b) => a - b)[values.length >> 1]!.toFixed(digits);
  console.log(`${name}: program ${program.gzipped} B gzipped (${program.code.byteLength} B minified); the reader alone ${reader.gzipped} B gzipped; import + first parse ${median(runs.map((r) => r[0]), 1)} ms, each parse after ${median(runs.map((r) => r[1]), 0)} µs (medians of 9 processes, ${process.version})`);
}
