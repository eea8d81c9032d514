/**
 * Exec credential plugins as real processes, on whichever runtime runs this file (Node in the unit
 * stage; Deno and Bun in theirs, through that runtime's own transport): a plugin that hangs, prints
 * too much or fails is stopped under the same limits everywhere, the request's signal ends the
 * wait, and the next request runs the plugin again.
 */
import assert from "node:assert/strict";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isLockError, type LockError } from "../../../src/lock.ts";
import { execCredentials } from "../../../adapters/kubernetes/exec-credential.ts";
import { fromKubeconfigWith } from "../../../adapters/kubernetes/kubeconfig.ts";
import type { Runtime } from "../../../adapters/runtime/runtime.ts";

const runtime: Runtime = "Deno" in globalThis
  ? (await import("../../../adapters/runtime/deno.ts")).runtime
  : "Bun" in globalThis
  ? (await import("../../../adapters/runtime/bun.ts")).runtime
  : (await import("../../../adapters/runtime/node.ts")).runtime;

const dir = await mkdtemp(join(tmpdir(), "tenure-exec-"));
const API = "client.authentication.k8s.io/v1";
const credential = (token: string) => JSON.stringify({ apiVersion: API, kind: "ExecCredential", status: { token } });

let scripts = 0;
/** A plugin: a shell script; `$STATE` is a file of its own that it may use to count its runs. */
const plugin = async (body: string): Promise<string> => {
  const path = join(dir, `plugin-${++scripts}.sh`);
  await writeFile(path, `#!/bin/sh\nSTATE="${path}.state"\n${body}\n`);
  await chmod(path, 0o755);
  return path;
};

/** Hangs well past every limit below (a shell's child: killing the shell leaves it holding the pipes). */
const HANG = "sleep 5";
/** Runs `first` on the plugin's first run and prints a token on every later one. */
const firstRun = (first: string) => `if [ ! -e "$STATE" ]; then touch "$STATE"; ${first}; fi\nprintf '%s' '${credential("t2")}'`;

const limits = { timeout: 1_000, maxOutputBytes: 64 * 1024 };
const credentials = (command: string) => execCredentials(runtime, { apiVersion: API, command }, { server: "https://kube.test" }, limits);

/** Settles with the outcome, or "still waiting" after `ms`: a hang fails the test instead of wedging it. */
const within = async <T>(promise: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown } | "still waiting"> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then((value) => ({ value }), (error: unknown) => ({ error })),
      new Promise<"still waiting">((resolve) => (timer = setTimeout(() => resolve("still waiting"), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
};

const failure = (outcome: Awaited<ReturnType<typeof within>>): LockError => {
  assert.notEqual(outcome, "still waiting", "the plugin wedged the request");
  const error = (outcome as { error?: unknown }).error;
  assert.ok(isLockError(error), `not a LockError: ${String(error)}`);
  return error;
};

describe(`exec credential plugins (${runtime.name})`, () => {
  it("the request's signal ends the wait for a plugin that hangs, through the public kubeconfig path", async () => {
    const command = await plugin("sleep 2");
    const path = join(dir, "kubeconfig");
    await writeFile(path, `
current-context: c
clusters: [{ name: c, cluster: { server: "https://kube.test" } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
users: [{ name: u, user: { exec: { apiVersion: "${API}", command: "${command}" } } }]
`);
    const cluster = await fromKubeconfigWith(runtime, { path });
    const started = performance.now();
    const error = failure(await within(cluster.credentials!.authorization(AbortSignal.timeout(300)), 5_000));
    assert.ok(performance.now() - started < 3_000, `waited ${performance.now() - started} ms`);
    assert.equal(error.reason, "Timeout");
    assert.match(error.message, new RegExp(`cancelled while still waiting for the exec credential plugin "${command}", which has run for \\d+ ms \\(it is stopped after 60000 ms\\)`));
  });

  it("a plugin that hangs is stopped after the timeout, reported, and run again by the next request", async () => {
    const command = await plugin(firstRun(HANG));
    const creds = credentials(command);
    const error = failure(await within(creds.authorization(), 5_000));
    assert.equal(error.reason, "Unauthorized");
    assert.match(error.message, /did not finish within 1000 ms and was stopped/);
    assert.deepEqual(await within(creds.authorization(), 5_000), { value: "Bearer t2" });
  });

  it("a plugin that prints too much is stopped at the cap", async () => {
    const command = await plugin("head -c 50000000 /dev/zero | tr '\\0' x");
    const error = failure(await within(credentials(command).authorization(), 5_000));
    assert.equal(error.reason, "Unauthorized");
    assert.match(error.message, /printed more than 65536 bytes and was stopped/);
  });

  it("a plugin that fails says how, with its stderr, and is run again by the next request", async () => {
    const command = await plugin(firstRun(`echo "metadata service unreachable" >&2; exit 3`));
    const creds = credentials(command);
    const error = failure(await within(creds.authorization(), 5_000));
    assert.equal(error.reason, "Unauthorized");
    assert.match(error.message, /failed with exit code 3: metadata service unreachable/);
    assert.deepEqual(await within(creds.authorization(), 5_000), { value: "Bearer t2" });
  });

  it("a plugin that cannot be started says so", async () => {
    const error = failure(await within(credentials(join(dir, "no-such-plugin")).authorization(), 5_000));
    assert.equal(error.reason, "Unauthorized");
    assert.match(error.message, /no-such-plugin" could not be run/);
  });
});
