/**
 * examples/cli/deployment.yaml as a pod would run it, short of a kubelet: its ServiceAccount,
 * Role and RoleBinding are created in a fresh namespace, and the container's command runs with the
 * pod's environment (POD_NAME, POD_NAMESPACE, KUBERNETES_SERVICE_HOST/PORT), in-cluster auth from
 * a service-account mount at the standard path (a private mount namespace), as PID 1 of its own
 * PID namespace. So the Role is enough, in-cluster defaults work, and the loop runs while leading.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { parseYaml } from "../../adapters/kubernetes/yaml.ts";
import { type Manifest, sandbox } from "../runtimes/sandbox.ts";
import { eventually, killAll, leaseSpec, tenure } from "./support.ts";

after(killAll);

const root = fileURLToPath(new URL("../../..", import.meta.url));

interface Container {
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly env: readonly { readonly name: string; readonly valueFrom?: { readonly fieldRef: { readonly fieldPath: string } } }[];
}

test("examples/cli/deployment.yaml: the shell loop runs under tenure run as PID 1, with the Role it grants", async (t) => {
  const probe = spawnSync("unshare", ["--pid", "--mount", "--fork", "true"]);
  if (probe.status !== 0) return t.skip(`unshare --pid --mount is not permitted here (${String(probe.stderr).trim()}); needs root`);
  const manifest = (await readFile(join(root, "examples", "cli", "deployment.yaml"), "utf8"))
    .split(/^---[ \t]*$/m)
    .map((document) => parseYaml(document) as Manifest);
  const deployment = manifest.find((o) => o.kind === "Deployment") as unknown as { spec: { template: { spec: { serviceAccountName: string; containers: Container[] } } } };
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0] as Container;
  const box = await sandbox("cli-example", { manifest: manifest.filter((o) => o.kind !== "Deployment"), serviceAccount: pod.serviceAccountName });
  after(() => box.dispose());

  assert.equal(container.command[0], "tenure");
  const lease = container.command[container.command.indexOf("--lease") + 1] as string;
  // Port 0 instead of the manifest's :8080, so parallel tests never collide.
  const command = [...container.command.slice(1).map((arg) => (arg === ":8080" ? "127.0.0.1:0" : arg)), ...container.args];
  const fields: Record<string, string> = { "metadata.name": "report-0", "metadata.namespace": box.namespace };
  const env: Record<string, string> = { KUBERNETES_SERVICE_HOST: box.serviceHost, KUBERNETES_SERVICE_PORT: box.servicePort };
  for (const e of container.env) env[e.name] = fields[e.valueFrom?.fieldRef.fieldPath ?? ""] ?? "";

  // A pod's filesystem view: the service account at its standard path, in a private /run.
  const mountSa = `mount -t tmpfs none /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && ` +
    `mount --bind "$SA_DIR" /run/secrets/kubernetes.io/serviceaccount && exec "$@"`;
  const pid1 = tenure(command, { ...env, SA_DIR: box.serviceAccountDir }, ["unshare", "--pid", "--mount", "--fork", "sh", "-c", mountSa, "sh"]);
  assert.ok(await eventually(() => /leads report/.test(pid1.stdout()), 30_000), `the loop did not run:\n${pid1.stderr()}`);
  assert.match(pid1.stdout(), new RegExp(`report-0 leads ${lease} \\(fencing token 0\\)`));
  assert.equal((await leaseSpec(box.namespace, lease))?.holderIdentity, "report-0");

  // SIGTERM, as the kubelet sends it to PID 1: forwarded, the loop stops, the Lease is released.
  const inner = Number(spawnSync("cat", [`/proc/${pid1.pid}/task/${pid1.pid}/children`], { encoding: "utf8" }).stdout.trim());
  process.kill(inner, "SIGTERM");
  assert.equal((await pid1.exited).code, 0, pid1.stderr());
  assert.match(pid1.stdout(), /stopping/);
  assert.equal((await leaseSpec(box.namespace, lease))?.holderIdentity ?? "", "");
});
