/**
 * Exec credentials over a scripted plugin (a runtime stand-in whose `spawn` answers from a list):
 * what the plugin is told, caching until `expirationTimestamp`, a new run after a 401 (through the
 * `fetch` seam), one run shared by concurrent requests, and no caching of failures.
 * Real plugin processes on each runtime are exec-plugin.test.ts's part.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLockError } from "../../../src/lock.ts";
import { execCredentials, type ExecConfig } from "../../../adapters/kubernetes/exec-credential.ts";
import { leaseLock } from "../../../adapters/kubernetes/lease-lock.ts";
import type { Child, Runtime } from "../../../adapters/runtime/runtime.ts";
import { settle } from "../../../adapters/virtual-clock.ts";
import { countListeners } from "../../support/listeners.ts";
import { fakeApi, json, lease, signal, status } from "./fake-api.ts";

const API = "client.authentication.k8s.io/v1";
const T0 = Date.UTC(2026, 10, 23, 18, 0, 0);

interface Run {
  readonly stdout?: string;
  readonly stderr?: string;
  readonly code?: number;
  /** Exits only when this settles (a plugin still running). */
  readonly until?: Promise<void>;
}

/** A plugin that answers run after run from `runs`, recording what it was started with. */
const plugin = (runs: Run[]) => {
  const started: { command: string; args: readonly string[]; env: Readonly<Record<string, string>> }[] = [];
  const runtime: Runtime = {
    name: "node",
    tlsFetch: () => () => Promise.reject(new Error("no network here")),
    readFile: () => Promise.reject(new Error("no files here")),
    env: () => undefined,
    spawn: (command, args, env): Child => {
      started.push({ command, args, env });
      const run = runs.shift();
      if (run === undefined) throw new Error("the plugin was run more often than scripted");
      return {
        stdout: new Response(run.stdout ?? "").body!,
        stderr: new Response(run.stderr ?? "").body!,
        exited: (run.until ?? Promise.resolve()).then(() => run.code ?? 0),
        kill: () => {},
      };
    },
  };
  return { runtime, started };
};

const token = (value: string, expires?: string): Run => ({
  stdout: JSON.stringify({ apiVersion: API, kind: "ExecCredential", status: { token: value, ...(expires === undefined ? {} : { expirationTimestamp: expires }) } }),
});

const config: ExecConfig = { apiVersion: API, command: "get-token", args: ["--cluster", "prod"], env: [{ name: "REGION", value: "eu-west-1" }] };
const CLUSTER = { server: "https://kube.test:6443", "certificate-authority-data": "Q0E=" };

/** A promise and the function that resolves it. */
const gate = () => {
  let open = (): void => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

describe("execCredentials", () => {
  it("runs the command with its args and env, and tells it what kubectl would (cluster info only when asked)", async () => {
    for (const provideClusterInfo of [false, true]) {
      const p = plugin([token("t1")]);
      await execCredentials(p.runtime, { ...config, provideClusterInfo }, CLUSTER).authorization();
      const { command, args, env } = p.started[0]!;
      assert.equal(command, "get-token");
      assert.deepEqual(args, ["--cluster", "prod"]);
      assert.equal(env["REGION"], "eu-west-1");
      assert.deepEqual(JSON.parse(env["KUBERNETES_EXEC_INFO"]!), {
        apiVersion: API,
        kind: "ExecCredential",
        spec: { interactive: false, ...(provideClusterInfo ? { cluster: CLUSTER } : {}) },
      });
    }
  });

  it("uses the token until its expirationTimestamp, then runs the plugin again", async () => {
    let now = T0;
    const p = plugin([token("t1", "2026-11-23T18:01:00Z"), token("t2", "2026-11-23T18:02:00Z")]);
    const credentials = execCredentials(p.runtime, config, CLUSTER, { now: () => now });
    assert.equal(await credentials.authorization(), "Bearer t1");
    now = T0 + 59_999;
    assert.equal(await credentials.authorization(), "Bearer t1");
    assert.equal(p.started.length, 1);
    now = T0 + 60_000;
    assert.equal(await credentials.authorization(), "Bearer t2");
    assert.equal(p.started.length, 2);
  });

  it("without an expirationTimestamp, keeps the token until a 401, and then runs the plugin again", async () => {
    const p = plugin([token("t1"), token("t2")]);
    const credentials = execCredentials(p.runtime, config, CLUSTER, { now: () => T0 + 365 * 86_400_000 });
    const api = fakeApi([
      () => json(200, lease("pod-a", "1")),
      () => status(401, "Unauthorized"),
      () => json(200, lease("pod-a", "2")),
    ], { credentials });
    const lock = leaseLock(api.cluster, { name: "lock" });
    await lock.get(signal());
    assert.equal(p.started.length, 1);
    await lock.get(signal());
    assert.deepEqual(api.sent.map((s) => s.headers.get("authorization")), ["Bearer t1", "Bearer t1", "Bearer t2"]);
    assert.equal(p.started.length, 2);
  });

  it("concurrent requests share one run", async () => {
    const g = gate();
    const p = plugin([{ ...token("t1"), until: g.opened }]);
    const credentials = execCredentials(p.runtime, config, CLUSTER);
    const all = Promise.all([credentials.authorization(), credentials.authorization(), credentials.authorization()]);
    g.open();
    assert.deepEqual(await all, ["Bearer t1", "Bearer t1", "Bearer t1"]);
    assert.equal(p.started.length, 1);
  });

  it("a request whose signal aborts stops waiting; the run goes on and serves the next request", async () => {
    const g = gate();
    const p = plugin([{ ...token("t1"), until: g.opened }]);
    let now = T0;
    const credentials = execCredentials(p.runtime, config, CLUSTER, { now: () => now, timeout: 30_000 });
    const controller = new AbortController();
    const listeners = countListeners(controller.signal);
    const first = credentials.authorization(controller.signal);
    now = T0 + 4_000;
    controller.abort(new Error("request timed out"));
    await assert.rejects(first, (error: unknown) => {
      assert.ok(isLockError(error));
      assert.equal(error.reason, "Timeout");
      assert.equal(error.message, 'the request was cancelled while still waiting for the exec credential plugin "get-token", which has run for 4000 ms (it is stopped after 30000 ms)');
      return true;
    });
    g.open();
    assert.equal(await credentials.authorization(signal()), "Bearer t1");
    assert.equal(p.started.length, 1);
    assert.equal(listeners.live, 0, "no abort listener is left behind");
  });

  it("an already aborted signal is refused at once, and the run it started serves the next request", async () => {
    const p = plugin([token("t1")]);
    const credentials = execCredentials(p.runtime, config, CLUSTER);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(credentials.authorization(controller.signal), { reason: "Timeout" });
    assert.equal(await credentials.authorization(), "Bearer t1");
    assert.equal(p.started.length, 1);
  });

  it("a failure no request was left to hear goes to the next request, while the plugin runs again", async () => {
    const g = gate();
    const p = plugin([{ code: 1, stderr: "timed out talking to the metadata service", until: g.opened }, token("t2")]);
    const credentials = execCredentials(p.runtime, config, CLUSTER);
    const controller = new AbortController();
    const first = credentials.authorization(controller.signal);
    controller.abort();
    await assert.rejects(first, { reason: "Timeout" });
    g.open(); // the run fails now, with nobody waiting for it
    await settle();
    await assert.rejects(credentials.authorization(signal()), /"get-token" failed with exit code 1: timed out talking to the metadata service/);
    assert.equal(p.started.length, 2, "the plugin already runs again");
    assert.equal(await credentials.authorization(signal()), "Bearer t2");
    assert.equal(p.started.length, 2);
  });

  it("a failure heard by a waiting request is not told again", async () => {
    const p = plugin([{ code: 1, stderr: "no" }, token("t2")]);
    const credentials = execCredentials(p.runtime, config, CLUSTER);
    await assert.rejects(credentials.authorization(signal()), /failed with exit code 1: no/);
    assert.equal(await credentials.authorization(signal()), "Bearer t2");
  });

  it("a failed run is not cached: the next request runs the plugin again", async () => {
    const p = plugin([{ code: 1, stderr: "metadata service unreachable\n" }, token("t2")]);
    const credentials = execCredentials(p.runtime, { ...config, installHint: "install get-token from your cloud" }, CLUSTER);
    await assert.rejects(credentials.authorization(), (error: unknown) => {
      assert.ok(isLockError(error));
      assert.equal(error.reason, "Unauthorized");
      assert.equal(error.message, 'the kubeconfig\'s exec credential plugin "get-token" failed with exit code 1: metadata service unreachable\ninstall get-token from your cloud');
      return true;
    });
    assert.equal(await credentials.authorization(), "Bearer t2");
  });

  it("a client certificate from the plugin is handed out, with no bearer token", async () => {
    const p = plugin([{ stdout: JSON.stringify({ apiVersion: API, kind: "ExecCredential", status: { clientCertificateData: "CERT", clientKeyData: "KEY" } }) }]);
    const credentials = execCredentials(p.runtime, config, CLUSTER);
    assert.deepEqual(await credentials.clientCertificate(), { cert: "CERT", key: "KEY" });
    assert.equal(await credentials.authorization(), undefined);
    assert.equal(p.started.length, 1);
  });

  it("refuses an answer in another apiVersion than the kubeconfig asked for", async () => {
    const p = plugin([{ stdout: JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1beta1", kind: "ExecCredential", status: { token: "t" } }) }]);
    await assert.rejects(execCredentials(p.runtime, config, CLUSTER).authorization(), /answered in client\.authentication\.k8s\.io\/v1beta1, but the kubeconfig asks for client\.authentication\.k8s\.io\/v1/);
  });
});
