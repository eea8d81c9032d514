/**
 * `tenure serve --http` and `tenure status`, checked against what the API server holds, while
 * the leader changes. /metrics is validated with Prometheus's own parser (`promtool check
 * metrics`), which .ci/run installs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, test } from "node:test";
import { cliSandbox, eventually, FAST, killAll, leaseSpec, sleep, type Tenure, tenure } from "./support.ts";

after(killAll);

const get = async (port: number, path: string): Promise<{ status: number; text: string }> => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, text: await response.text() };
};

const portOf = async (proc: Tenure): Promise<number> => Number((await proc.waitFor(/serving \/, \/healthz and \/metrics on 127\.0\.0\.1:(\d+)/))[1]);

/** Prometheus's parser on the text; its complaints (lint included) fail the test. */
const promtool = (text: string): void => {
  const result = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (result.error !== undefined) throw new Error(`promtool is needed to validate /metrics (.ci/run installs Debian's prometheus package): ${result.error.message}`);
  assert.equal(result.status, 0, `promtool check metrics:\n${result.stdout}${result.stderr}\non:\n${text}`);
};

test("serve: {\"name\"} follows the leader the API server holds, /healthz is ok, /metrics is valid Prometheus text with client-go's names", async () => {
  const box = await cliSandbox("cli-serve");
  const kubeconfig = box.kubeconfig();
  const serve = (id: string): Tenure => tenure(["serve", "--lease", "sidecar", "--identity", id, "--kubeconfig", kubeconfig, "--http", "127.0.0.1:0", ...FAST]);
  const a = serve("a");
  const portA = await portOf(a);
  await a.waitFor(/leading .*sidecar as a/);
  const b = serve("b");
  const portB = await portOf(b);
  await b.waitFor(/leader of .* is now a/);

  const holder = (await leaseSpec(box.namespace, "sidecar"))?.holderIdentity;
  assert.equal(holder, "a");
  for (const port of [portA, portB]) {
    assert.deepEqual(JSON.parse((await get(port, "/")).text), { name: "a" });
    assert.deepEqual(await get(port, "/healthz"), { status: 200, text: "ok\n" });
  }
  const metricsA = (await get(portA, "/metrics")).text;
  const metricsB = (await get(portB, "/metrics")).text;
  promtool(metricsA);
  promtool(metricsB);
  assert.match(metricsA, /^leader_election_master_status\{name="sidecar"\} 1$/m);
  assert.match(metricsB, /^leader_election_master_status\{name="sidecar"\} 0$/m);
  assert.match(metricsA, /^leader_election_slowpath_total\{name="sidecar"\} \d+$/m);
  assert.match(metricsB, /^tenure_leader_info\{name="sidecar",namespace="[^"]+",holder="a",identity="b"\} 1$/m);
  assert.match(metricsA, /^tenure_terms_total\{name="sidecar"\} 1$/m);

  // The leader leaves: b's answer changes to b as soon as it holds the Lease.
  a.process.kill("SIGTERM");
  assert.equal((await a.exited).code, 0, a.stderr());
  assert.ok(await eventually(async () => (await leaseSpec(box.namespace, "sidecar"))?.holderIdentity === "b", 10_000), "b did not take over");
  assert.ok(await eventually(async () => JSON.parse((await get(portB, "/")).text).name === "b", 5_000), "b's / does not say b");
  assert.match((await get(portB, "/metrics")).text, /^leader_election_master_status\{name="sidecar"\} 1$/m);
  assert.equal((await get(portB, "/nothing")).status, 404);
  b.process.kill("SIGTERM");
  assert.equal((await b.exited).code, 0, b.stderr());
  assert.equal((await leaseSpec(box.namespace, "sidecar"))?.holderIdentity ?? "", "", "released on SIGTERM");
});

test("status: -o json and text say what the API server holds; --watch prints each change", async () => {
  const box = await cliSandbox("cli-status");
  const kubeconfig = box.kubeconfig();
  const missing = tenure(["status", "nothing", "--kubeconfig", kubeconfig]);
  assert.equal((await missing.exited).code, 1);
  assert.match(missing.stderr(), /lease .*\/nothing does not exist/);

  const leader = tenure(["serve", "--lease", "st", "--identity", "x", "--kubeconfig", kubeconfig, "--http", "127.0.0.1:0", ...FAST]);
  await leader.waitFor(/leading .*st as x/);
  const watcher = tenure(["status", "st", "--kubeconfig", kubeconfig, "--watch", "-o", "json"]);
  await sleep(1_200);
  const spec = (await leaseSpec(box.namespace, "st"))!;
  const json = tenure(["status", "st", "--kubeconfig", kubeconfig, "-o", "json"]);
  assert.equal((await json.exited).code, 0, json.stderr());
  const shown = JSON.parse(json.stdout());
  assert.equal(shown.holder, spec.holderIdentity);
  assert.equal(shown.acquireTime, spec.acquireTime);
  assert.equal(shown.leaseDurationSeconds, spec.leaseDurationSeconds);
  assert.equal(shown.leaseTransitions, spec.leaseTransitions);
  assert.equal(shown.expired, false);
  assert.ok(shown.renewAgeSeconds >= 0 && shown.renewAgeSeconds < 4, `renew age ${shown.renewAgeSeconds} s`);

  const text = tenure(["status", "st", "-n", box.namespace, "--kubeconfig", kubeconfig]);
  assert.equal((await text.exited).code, 0);
  assert.match(text.stdout(), /^Holder: +x$/m);
  assert.match(text.stdout(), /^Expired: +no$/m);

  assert.ok(await eventually(() => watcherLines(watcher).length >= 2, 10_000), `--watch printed no renew:\n${watcher.stdout()}${watcher.stderr()}`);
  leader.process.kill("SIGTERM");
  await leader.exited;
  // The watcher printed the creation, the renews and the release (holder "").
  assert.ok(await eventually(() => watcherLines(watcher).some((s) => s.holder === "") , 5_000), `no release seen by --watch:\n${watcher.stdout()}${watcher.stderr()}`);
  const lines = watcherLines(watcher);
  assert.ok(lines.some((s) => s.holder === "x"));
  assert.ok(lines.length >= 3, `${lines.length} changes printed`);
  watcher.process.kill("SIGINT");
  assert.equal((await watcher.exited).code, 0, watcher.stderr());
});

const watcherLines = (proc: Tenure): { holder: string }[] =>
  proc.stdout().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
