/**
 * The examples run as written, as the Deployment in examples/kubernetes.yaml (the manifest in the
 * README) would run them: examples/node on Node 20, 22 and 24, examples/deno on Deno, examples/bun
 * on Bun. `TENURE_RUNTIME` names the runtime (the matrix sets it).
 *
 * The manifest's ServiceAccount, Role and RoleBinding are created in a fresh namespace of the test
 * cluster and its Deployment is validated by the API server (a dry run: the test cluster has no
 * kubelets). Then this file, on the machine's Node, starts as many replicas as the Deployment asks
 * for, with its container's environment and a pod's: KUBERNETES_SERVICE_HOST/PORT and that
 * ServiceAccount's token, CA and namespace in a folder (moved by TENURE_SERVICE_ACCOUNT_DIR, as
 * the examples allow).
 *
 * They import `tenure` by name, which inside this repository resolves to its own dist/ (built by the
 * matrix first). examples/deno is type-checked in package.test.ts instead, in a project that
 * installs the packed tarball: here Deno would take dist/ for local files rather than a package.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isRuntimeName, ROOT, runtime } from "./runtimes.ts";
import { type Manifest, type Sandbox, sandbox } from "./sandbox.ts";
import { parseYaml } from "../../adapters/kubernetes/yaml.ts";

const name = process.env["TENURE_RUNTIME"] ?? "node20";
if (!isRuntimeName(name)) throw new Error(`TENURE_RUNTIME=${name}: not a runtime of the matrix`);
const target = runtime(name);

/** How the README says to run each example (from the repository root). */
const command = (bin: string): { readonly example: string; readonly argv: readonly string[] } => {
  switch (name) {
    case "deno":
      return { example: "examples/deno/main.ts", argv: [bin, "run", "--allow-env", "--allow-read", "--allow-net", "examples/deno/main.ts"] };
    case "bun":
      return { example: "examples/bun/main.ts", argv: [bin, "examples/bun/main.ts"] };
    default:
      return { example: "examples/node/main.mjs", argv: [bin, "examples/node/main.mjs"] };
  }
};

interface Replica {
  readonly id: string;
  readonly child: ChildProcess;
  /** stdout and stderr, interleaved as they came. */
  output: string;
  readonly exited: Promise<number | null>;
}

const replicas: Replica[] = [];

interface Deployment extends Manifest {
  readonly spec: {
    readonly replicas: number;
    readonly template: {
      readonly spec: {
        readonly serviceAccountName: string;
        readonly containers: readonly {
          readonly env?: readonly { readonly name: string; readonly value?: string; readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } } }[];
        }[];
      };
    };
  };
}

const manifest = (await readFile(join(ROOT, "examples", "kubernetes.yaml"), "utf8"))
  .split(/^---[ \t]*$/m)
  .map((document) => parseYaml(document) as Manifest);
const deployment = manifest.find((object): object is Deployment => object.kind === "Deployment");
if (deployment === undefined) throw new Error("examples/kubernetes.yaml has no Deployment");
const pod = deployment.spec.template.spec;

/** The container's environment as Kubernetes would set it for the pod named `id`. */
const containerEnv = (id: string): Record<string, string> =>
  Object.fromEntries(
    (pod.containers[0]?.env ?? []).map(({ name: variable, value, valueFrom }) => {
      if (value !== undefined) return [variable, value];
      if (valueFrom?.fieldRef?.fieldPath === "metadata.name") return [variable, id];
      throw new Error(`examples/kubernetes.yaml: env ${variable}: only values and metadata.name are emulated here`);
    }),
  );

const start = (box: Sandbox, argv: readonly string[], id: string): Replica => {
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env["PATH"] ?? "",
      HOME: process.env["HOME"] ?? "",
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      HOSTNAME: id,
      ...containerEnv(id),
      KUBERNETES_SERVICE_HOST: box.serviceHost,
      KUBERNETES_SERVICE_PORT: box.servicePort,
      TENURE_SERVICE_ACCOUNT_DIR: box.serviceAccountDir,
    },
  });
  const replica: Replica = {
    id,
    child,
    output: "",
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
  };
  child.stdout?.on("data", (chunk: Buffer) => void (replica.output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => void (replica.output += chunk.toString()));
  replicas.push(replica);
  return replica;
};

const until = async (what: string, check: () => boolean, limit = 20_000): Promise<void> => {
  const end = performance.now() + limit;
  while (!check()) {
    if (performance.now() > end) {
      throw new Error(`${what}: not within ${limit} ms. Output:\n${replicas.map((r) => `--- ${r.id}\n${r.output}`).join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const leading = (r: Replica): boolean => r.output.includes(`${r.id}: leading`);

describe(`${name === "deno" ? "examples/deno" : name === "bun" ? "examples/bun" : "examples/node"} on ${target.label}`, { skip: target.missing }, () => {
  let box!: Sandbox;
  before(async () => void (box = await sandbox(`example-${name}`, { manifest, serviceAccount: pod.serviceAccountName })));
  after(async () => {
    for (const r of replicas) if (r.child.exitCode === null) r.child.kill("SIGKILL");
    await box?.dispose();
  });

  it(`the Deployment's ${deployment.spec.replicas} replicas: one leads; SIGTERM hands over at once; all exit 0 and leave the Lease released`, async () => {
    const { argv } = command(target.bin!);
    const ids = Array.from({ length: deployment.spec.replicas }, (_, i) => `${deployment.metadata.name}-${i}`);
    const pods = ids.map((id) => start(box, argv, id));
    const lease = containerEnv(ids[0]!)["LEASE_NAME"] ?? "tenure-example";

    await until("one replica leads and the others know it", () => {
      const leaders = pods.filter(leading);
      return leaders.length === 1 && pods.every((p) => p.output.includes(`${p.id}: the leader is ${leaders[0]!.id}`));
    });
    const first = pods.find(leading)!;
    assert.equal((await box.lease(lease)).spec.holderIdentity, first.id);
    assert.match(first.output, /leading \(term 0\)/);

    const stopped = performance.now();
    first.child.kill("SIGTERM");
    assert.equal(await first.exited, 0, first.output);
    assert.match(first.output, /stopped leading/);
    await until("another replica takes over", () => pods.some((p) => p !== first && leading(p)), 5_000);
    const handover = performance.now() - stopped;
    const second = pods.find((p) => p !== first && leading(p))!;
    assert.match(second.output, /leading \(term 1\)/);
    assert.equal((await box.lease(lease)).spec.holderIdentity, second.id);

    for (const p of pods) if (p !== first) p.child.kill("SIGTERM");
    for (const p of pods) assert.equal(await p.exited, 0, `${p.id}:\n${p.output}`);
    assert.equal((await box.lease(lease)).spec.holderIdentity, "");
    for (const p of pods) assert.doesNotMatch(p.output, /error|warn/i, `${p.id}:\n${p.output}`);
    console.log(`${command(target.bin!).example} on ${target.label}: handover ${handover.toFixed(0)} ms after SIGTERM (including the leader's exit)`);
  });
});
