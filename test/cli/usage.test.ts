/**
 * Bad flags and values: exit status 2 and a message that names the flag. No cluster needed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { tenure } from "./support.ts";

/** A kubeconfig whose server nobody listens at. */
const nowhere = (): string => {
  const file = join(mkdtempSync(join(tmpdir(), "tenure-usage-")), "kubeconfig");
  writeFileSync(file, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\ncurrent-context: c\n");
  return file;
};

const fails = async (args: readonly string[], message: RegExp, env: Record<string, string> = {}): Promise<void> => {
  const proc = tenure(args, env);
  const { code } = await proc.exited;
  assert.equal(code, 2, `tenure ${args.join(" ")} exited ${code}: ${proc.stderr()}`);
  assert.match(proc.stderr(), message);
};

test("every bad flag or value exits 2 with a message naming it", async () => {
  // Concurrently: each is a process start-up, slow on a loaded machine.
  await Promise.all([
    fails(["frobnicate"], /unknown command "frobnicate"/),
    fails(["run", "--lease", "x"], /no command: write it after --/),
    fails(["run", "--", "true"], /--lease is required/),
    fails(["run", "--lease", "Bad_Name", "--", "true"], /--lease: "Bad_Name" is not a valid Lease name/),
    fails(["run", "--lease", "x", "--lease-duration", "15", "--", "true"], /--lease-duration: "15" is not a duration/),
    fails(["run", "--lease", "x", "--bogus", "--", "true"], /Unknown option '--bogus'/),
    fails(["run", "--lease", "x", "--grace", "10s", "--", "true"], /--grace 10s is too long/),
    fails(["run", "--lease", "x", "--lease-duration", "10s", "--renew-deadline", "10s", "--", "true"], /--lease-duration \(10s\) must exceed --renew-deadline/),
    fails(["serve", "--lease", "x"], /--http is required/),
    fails(["serve", "--lease", "x", "--http", "localhost"], /--http: "localhost" is not an address/),
    fails(["status"], /NAME is required/),
    fails(["status", "x", "-o", "yaml"], /--output: "yaml" is not a format/),
    fails(["status", "x", "--kubeconfig", "/nonexistent/kubeconfig"], /cannot use kubeconfig \/nonexistent\/kubeconfig/, { KUBERNETES_SERVICE_HOST: "" }),
    fails(["run", "--lease", "x", "--events", " ", "--", "true"], /--events: name the component/),
    fails(["run", "--lease", "x", "--binary-version", "1.2.3", "--", "true"], /--binary-version is for a coordinated candidate: add --coordinated/),
    fails(["serve", "--lease", "x", "--http", ":0", "--coordinated"], /--coordinated needs --binary-version/),
    // Checked once the cluster is known (no request is sent): nothing listens at this kubeconfig's server.
    fails(["run", "--lease", "x", "--coordinated", "--binary-version", "v1.2", "--kubeconfig", nowhere(), "--", "true"], /--binary-version must be a semantic version without "v", such as 1\.4\.2/),
    fails(["run", "--lease", "x", "--coordinated", "--binary-version", "1.2.3", "--emulation-version", "1.3.0", "--kubeconfig", nowhere(), "--", "true"], /--emulation-version must not be newer than --binary-version/),
  ]);
});

test("--help describes the exit statuses; --version", async () => {
  const help = tenure(["run", "--help"]);
  assert.equal((await help.exited).code, 0);
  assert.match(help.stdout(), /Exit status:/);
  const version = tenure(["--version"]);
  assert.equal((await version.exited).code, 0);
  assert.match(version.stdout(), /^tenure \d+\.\d+\.\d+/);
});
