/**
 * kubeconfig files and exec plugins that are wrong say where and how, field by field (the files
 * and the plugin come from a runtime stand-in; talking to a cluster is the e2e suite's part).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromKubeconfigWith } from "../../../adapters/kubernetes/kubeconfig.ts";
import type { Runtime } from "../../../adapters/runtime/runtime.ts";

const runtime = (files: Record<string, string>, pluginOutput = ""): Runtime => ({
  name: "web",
  tlsFetch: () => (url, init) => fetch(url, init),
  readFile: async (path) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: ${path}`);
    return text;
  },
  env: () => undefined,
  spawn: () => ({ stdout: new Response(pluginOutput).body!, stderr: new Response("").body!, exited: Promise.resolve(0), kill: () => {} }),
});

const kubeconfig = (users: string) => `
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster:
    server: https://127.0.0.1:6443
contexts:
- name: dev
  context: { cluster: dev, user: dev }
users: ${users}
`;

const problems = async (files: Record<string, string>): Promise<string> => {
  const error = await fromKubeconfigWith(runtime(files), { path: "/kube/config" }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof Error, "the kubeconfig was accepted");
  return error.message;
};

describe("fromKubeconfig on a file that is wrong", () => {
  it("names each field that has the wrong type, with what was expected and what came", async () => {
    const message = await problems({ "/kube/config": kubeconfig("7") });
    assert.match(message, /^kubeconfig \/kube\/config is not valid:/);
    assert.match(message, /- users: expected array, got number/);
  });

  it("says which entry lacks a required field", async () => {
    const message = await problems({ "/kube/config": kubeconfig("\n- user: { token: abc }") });
    assert.match(message, /- users\.0\.name: expected string, got nothing/);
  });

  it("keeps the schema's own words where it has them", async () => {
    const message = await problems({ "/kube/config": "clusters:\n- name: a\n  cluster: { certificate-authority: /ca }\n" });
    assert.match(message, /- clusters\.0\.cluster\.server: every cluster needs a server/);
  });

  it("says so when the file is not a mapping at all", async () => {
    const message = await problems({ "/kube/config": "just some text\n" });
    assert.match(message, /- \(the whole document\): expected object, got string/);
  });
});

describe("an exec plugin whose output is wrong", () => {
  it("says which field of the ExecCredential is wrong", async () => {
    const users = `
- name: dev
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: get-token
      installHint: install get-token first`;
    const output = JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: 42 } });
    const cluster = await fromKubeconfigWith(runtime({ "/kube/config": kubeconfig(users) }, output), { path: "/kube/config" });
    await assert.rejects(cluster.credentials?.authorization() ?? Promise.resolve(), (error: Error) => {
      assert.match(error.message, /"get-token" printed something that is not an ExecCredential: status\.token: expected string, got number/);
      assert.match(error.message, /install get-token first/);
      return true;
    });
  });
});
