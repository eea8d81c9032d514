/**
 * An elector whose credentials come from an exec plugin that hangs or fails at first: the fault
 * reaches onError as a LockError, the plugin is run again, and the elector leads once it answers
 * (before, a plugin that never exited left the shared credential promise pending for good).
 * Real time, a scripted plugin, and a tiny Lease API behind the `fetch` seam.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createElector } from "../../../src/elector.ts";
import { LockError } from "../../../src/lock.ts";
import { cluster, type Fetch } from "../../../adapters/kubernetes/cluster.ts";
import { execCredentials } from "../../../adapters/kubernetes/exec-credential.ts";
import { leaseLock } from "../../../adapters/kubernetes/lease-lock.ts";
import type { Child, Runtime } from "../../../adapters/runtime/runtime.ts";
import { eventually } from "../../support/wait.ts";
import { json, status } from "./fake-api.ts";

const API = "client.authentication.k8s.io/v1";

/** One Lease, with compare-and-swap on resourceVersion; only `Bearer good` may use it. */
const leaseApi = (): Fetch => {
  let stored: { metadata: { name: string; namespace: string; resourceVersion: string }; spec: unknown } | undefined;
  let version = 0;
  return async (_url, init) => {
    if (new Headers(init.headers).get("authorization") !== "Bearer good") return status(401, "Unauthorized");
    const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    switch (init.method) {
      case "GET":
        return stored === undefined ? status(404, "NotFound") : json(200, stored);
      case "POST":
        if (stored !== undefined) return status(409, "AlreadyExists");
        stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } };
        return json(201, stored);
      default:
        if (stored?.metadata.resourceVersion !== body.metadata.resourceVersion) return status(409, "Conflict");
        stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } };
        return json(200, stored);
    }
  };
};

/** A plugin whose first run is `first` and every later one prints the good token. */
const plugin = (first: "hangs" | "fails") => {
  let runs = 0;
  const runtime: Runtime = {
    name: "node",
    tlsFetch: () => leaseApi(),
    readFile: () => Promise.reject(new Error("no files here")),
    env: () => undefined,
    spawn: (): Child => {
      runs++;
      const good = JSON.stringify({ apiVersion: API, kind: "ExecCredential", status: { token: "good" } });
      if (runs > 1) return { stdout: new Response(good).body!, stderr: new Response("").body!, exited: Promise.resolve(0), kill: () => {} };
      if (first === "fails") return { stdout: new Response("").body!, stderr: new Response("no route to metadata service").body!, exited: Promise.resolve(1), kill: () => {} };
      // Hangs until killed, its pipes open all along.
      const pipes: ReadableStreamDefaultController<Uint8Array>[] = [];
      const pipe = () => new ReadableStream<Uint8Array>({ start: (controller) => void pipes.push(controller) });
      let exit = (_code: number): void => {};
      const exited = new Promise<number>((resolve) => (exit = resolve));
      const kill = (): void => {
        for (const controller of pipes) controller.close();
        exit(137);
      };
      return { stdout: pipe(), stderr: pipe(), exited, kill };
    },
  };
  return { runtime, runs: () => runs };
};

const elect = async (first: "hangs" | "fails", timeout = 300) => {
  const p = plugin(first);
  const credentials = execCredentials(p.runtime, { apiVersion: API, command: "get-token" }, { server: "https://kube.test" }, { timeout });
  const c = cluster({ server: "https://kube.test", namespace: "ns", fetch: p.runtime.tlsFetch({}), credentials });
  const errors: unknown[] = [];
  const controller = new AbortController();
  const elector = createElector({
    lock: leaseLock(c, { name: "lock" }),
    identity: "pod-a",
    leaseDuration: 3_000,
    renewDeadline: 2_000,
    retryPeriod: 500,
    onStartedLeading: () => {},
    onStoppedLeading: () => {},
    onError: (error) => void errors.push(error),
  });
  const done = elector.run(controller.signal);
  try {
    assert.ok(await eventually(() => elector.isLeader(), 8_000), `never led; errors: ${errors.map(String).join("; ")}`);
  } finally {
    controller.abort();
    await done;
  }
  return { errors, runs: p.runs() };
};

describe("an elector with an exec plugin", () => {
  it("that hangs at first: reports it, kills it, runs it again, and leads", async () => {
    const { errors, runs } = await elect("hangs");
    assert.ok(errors.length >= 1);
    assert.ok(errors[0] instanceof LockError, `not a LockError: ${String(errors[0])}`);
    assert.match(errors[0].message, /exec credential plugin "get-token" did not finish within 300 ms and was stopped/);
    assert.equal(runs, 2);
  });

  it("that hangs for longer than a request may wait: the requests time out, and the plugin's fault still reaches onError", async () => {
    // requestTimeout is 1 s here: every request gives up before the plugin is stopped.
    const { errors, runs } = await elect("hangs", 1_500);
    assert.ok(errors.some((e) => e instanceof LockError && e.reason === "Timeout"), "the requests timed out");
    const fault = errors.find((e) => e instanceof LockError && /did not finish within 1500 ms and was stopped/.test(e.message));
    assert.ok(fault !== undefined, `the fault was not reported: ${errors.map(String).join("; ")}`);
    assert.equal(runs, 2);
  });

  it("that fails at first: reports it with its stderr, runs it again, and leads", async () => {
    const { errors, runs } = await elect("fails");
    assert.ok(errors[0] instanceof LockError, `not a LockError: ${String(errors[0])}`);
    assert.equal(errors[0].reason, "Unauthorized");
    assert.match(errors[0].message, /"get-token" failed with exit code 1: no route to metadata service/);
    assert.equal(runs, 2);
  });
});
