/**
 * `tenure run` on the real cluster: three processes on one Lease, each running the recording
 * child (record-child.sh) while it leads. Every check is judged from the records, all on one clock.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { ELECTION_RULES } from "../cluster/sandbox.ts";
import { tcpProxy } from "../e2e/tcp-proxy.ts";
import {
  cliSandbox,
  eventually,
  FAST,
  gone,
  apiServer,
  killAll,
  LEASE_MS,
  leaderElectionEvents,
  leaseSpec,
  lives,
  overlaps,
  RECORD_CHILD,
  readRecord,
  sleep,
  tenure,
} from "./support.ts";

after(killAll);

const runArgs = (kubeconfig: string, identity: string, lease = "job"): string[] =>
  ["run", "--lease", lease, "--identity", identity, "--kubeconfig", kubeconfig, ...FAST, "--", RECORD_CHILD];

/** Waits until a child not in `seen` has started, and returns its start entry. */
const nextStart = async (record: string, seen: number) => {
  assert.ok(await eventually(() => readRecord(record).filter((e) => e.event === "start").length > seen, 30_000), "no child started within 30 s");
  return readRecord(record).filter((e) => e.event === "start")[seen]!;
};

test("three tenure run on one lease: one child at a time; SIGTERM hands over with the child stopped first; SIGKILL leaves no child running", async () => {
  const box = await cliSandbox("cli-run");
  const record = join(box.dir, "record");
  const kubeconfig = box.kubeconfig();
  const env = { RECORD: record };
  const procs = new Map(["a", "b", "c"].map((id) => [id, tenure(runArgs(kubeconfig, id), env)]));

  // The first leader runs its child, and the Lease says it holds.
  const first = await nextStart(record, 0);
  const spec = await leaseSpec(box.namespace, "job");
  assert.equal(spec?.holderIdentity, first.identity);
  assert.equal(first.transitions, spec?.leaseTransitions, "TENURE_TRANSITIONS is the Lease's leaseTransitions");
  await sleep(1_000);

  // SIGTERM: forwarded, the child stops, the lease is released, tenure exits with the child's status (0).
  const leader = procs.get(first.identity)!;
  const killedAt = Date.now();
  leader.process.kill("SIGTERM");
  assert.deepEqual(await leader.exited, { code: 0, signal: null }, leader.stderr());
  const second = await nextStart(record, 1);
  const firstLife = lives(readRecord(record)).find((l) => l.pid === first.pid)!;
  assert.ok(firstLife.stopped, "the child recorded its stop on SIGTERM");
  assert.ok(second.at > firstLife.end, "the successor's child started after the first child stopped");
  // Released, so taken over at once (watch), not after the 4 s lease: allow for a loaded machine.
  assert.ok(second.at - killedAt < LEASE_MS, `handover took ${second.at - killedAt} ms, not faster than the lease`);

  // SIGKILL of the leading tenure: its watchdog kills the child at once.
  await sleep(1_000);
  const killed = procs.get(second.identity)!;
  killed.process.kill("SIGKILL");
  const at = Date.now();
  assert.ok(await eventually(() => gone(second.pid), 2_000), "the child of a SIGKILLed tenure is still running 2 s later");
  const goneAfter = Date.now() - at;
  // The third takes over only once the lease expired (nobody released it), after the child died.
  const third = await nextStart(record, 2);
  const all = lives(readRecord(record));
  const secondLife = all.find((l) => l.pid === second.pid)!;
  assert.ok(secondLife.end < at + goneAfter, "no beat after the child was seen gone");
  assert.ok(third.at > at + LEASE_MS - 1_000, "the third waited for the lease to expire (the leader was killed, it released nothing)");

  assert.deepEqual(overlaps(all), [], "two children ran at once");
  assert.deepEqual(new Set(all.map((l) => l.identity)).size, 3);
  for (const proc of procs.values()) proc.process.kill("SIGTERM");
  for (const [id, proc] of procs) if (id !== first.identity && id !== second.identity) assert.equal((await proc.exited).code, 0, proc.stderr());
});

test("a child that exits ends the term: the lease is released and tenure exits with the child's status", async () => {
  const box = await cliSandbox("cli-exit");
  const record = join(box.dir, "record");
  const proc = tenure(runArgs(box.kubeconfig(), "solo", "once"), { RECORD: record, CHILD_EXIT_AFTER: "3", CHILD_EXIT_CODE: "7" });
  assert.deepEqual(await proc.exited, { code: 7, signal: null }, proc.stderr());
  const spec = await leaseSpec(box.namespace, "once");
  assert.equal(spec?.holderIdentity ?? "", "", "released: the holder is blank");
  const events = readRecord(record).map((e) => e.event);
  assert.deepEqual([events[0], events.at(-1)], ["start", "exit"]);
});

test("--events records each term's leadership Events; --coordinated makes a candidate (without the API server's gate: a warning that says so, and no child)", async () => {
  const box = await cliSandbox("cli-events", [
    ...ELECTION_RULES,
    { apiGroups: ["coordination.k8s.io"], resources: ["leasecandidates"], verbs: ["get", "create", "update", "watch", "delete"] },
    { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  ]);
  const record = join(box.dir, "record");
  const args = (identity: string, lease: string, ...flags: string[]): string[] =>
    ["run", "--lease", lease, "--identity", identity, "--kubeconfig", box.kubeconfig(), ...FAST, ...flags, "--", RECORD_CHILD];
  const evented = tenure(args("solo", "evented", "--events", "my-job"), { RECORD: record, CHILD_EXIT_AFTER: "1", CHILD_EXIT_CODE: "0", NODE_NAME: "node-7" });
  assert.deepEqual(await evented.exited, { code: 0, signal: null }, evented.stderr());
  const events = await leaderElectionEvents(box.namespace);
  assert.deepEqual(events.map((e) => e.message).sort(), ["solo became leader", "solo stopped leading"]);
  for (const e of events) {
    assert.deepEqual(e.source, { component: "my-job", host: "node-7" });
    assert.deepEqual([e.involvedObject.kind, e.involvedObject.name], ["Lease", "evented"]);
  }

  const coordinated = tenure(args("candidate", "coordinated", "--coordinated", "--binary-version", "1.2.3"), { RECORD: record });
  await coordinated.waitFor(/warning: .*turn on CoordinatedLeaderElection/);
  coordinated.process.kill("SIGTERM");
  assert.equal((await coordinated.exited).code, 0, coordinated.stderr());
  assert.equal(readRecord(record).filter((e) => e.identity === "candidate").length, 0, "never led: only the coordinator gives the Lease out");
  assert.equal(await leaseSpec(box.namespace, "coordinated"), undefined, "and never created it");
});

test("a network cut stops the child before the lease can expire, and only then does another start", async () => {
  const box = await cliSandbox("cli-cut");
  const record = join(box.dir, "record");
  const proxy = await tcpProxy(await apiServer());
  try {
    const cutOff = tenure(runArgs(box.kubeconfig(proxy.url), "cut"), { RECORD: record });
    const started = await nextStart(record, 0);
    assert.equal(started.identity, "cut");
    const other = tenure(runArgs(box.kubeconfig(), "other"), { RECORD: record });
    await other.waitFor(/leader of .* is now cut/);
    await sleep(1_000);
    proxy.cut();
    const cutAt = Date.now();
    // The last renew the API server holds (no later one can pass the cut), read by the admin.
    const spec = await leaseSpec(box.namespace, "job");
    assert.equal(spec?.holderIdentity, "cut");
    const lastRenew = Date.parse(spec?.renewTime as string);
    const next = await nextStart(record, 1);
    assert.equal(next.identity, "other");
    const cutLife = lives(readRecord(record)).find((l) => l.pid === started.pid)!;
    assert.ok(cutLife.stopped, "the cut-off child was stopped with SIGTERM");
    // The protocol's promise: the child is gone within renewDeadline + grace of the last renew,
    // which is before leaseDuration after it, when the other may take over.
    assert.ok(cutLife.end < lastRenew + LEASE_MS, `the child stopped ${cutLife.end - lastRenew} ms after the last renew, not before the ${LEASE_MS} ms lease`);
    assert.ok(next.at > cutLife.end, "the other's child started after the cut-off child stopped");
    assert.ok(cutLife.end - cutAt >= 0);
    // Without --rejoin the cut-off tenure exits 3 once its child is stopped.
    assert.equal((await cutOff.exited).code, 3, cutOff.stderr());
    other.process.kill("SIGTERM");
    assert.equal((await other.exited).code, 0, other.stderr());
  } finally {
    await proxy.close();
  }
});

test("--rejoin: after a loss the child is stopped, tenure campaigns again and runs a new child in its next term", async () => {
  const box = await cliSandbox("cli-rejoin");
  const record = join(box.dir, "record");
  const proxy = await tcpProxy(await apiServer());
  try {
    const a = tenure([...runArgs(box.kubeconfig(proxy.url), "a").slice(0, -2), "--rejoin", "--", RECORD_CHILD], { RECORD: record });
    const first = await nextStart(record, 0);
    assert.equal(first.identity, "a");
    const b = tenure(runArgs(box.kubeconfig(), "b"), { RECORD: record });
    await b.waitFor(/leader of .* is now a/);
    proxy.cut();
    const second = await nextStart(record, 1);
    assert.equal(second.identity, "b");
    await a.waitFor(/campaigning again \(--rejoin\)/);
    proxy.heal();
    b.process.kill("SIGTERM");
    assert.equal((await b.exited).code, 0, b.stderr());
    const third = await nextStart(record, 2);
    assert.equal(third.identity, "a", "a campaigned again and leads a new term");
    assert.ok(third.transitions > first.transitions, "a new fencing token for the new term");
    assert.deepEqual(overlaps(lives(readRecord(record))), [], "two children ran at once");
    a.process.kill("SIGTERM");
    assert.equal((await a.exited).code, 0, a.stderr());
  } finally {
    await proxy.close();
  }
});

test("SIGKILL of tenure as PID 1 of its PID namespace (a container's entrypoint): the kernel ends the child", async (t) => {
  const probe = spawnSync("unshare", ["--pid", "--fork", "true"]);
  if (probe.status !== 0) return t.skip(`unshare --pid is not permitted here (${String(probe.stderr).trim() || probe.error?.message}); needs root or user namespaces`);
  const box = await cliSandbox("cli-pid1");
  const record = join(box.dir, "record");
  const outer = tenure(runArgs(box.kubeconfig(), "pid1"), { RECORD: record }, ["unshare", "--pid", "--fork"]);
  // unshare's own child is tenure, PID 1 inside; it is killed however the test ends.
  const children = (pid: number): number[] =>
    readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter((p) => p !== "").map(Number);
  assert.ok(await eventually(() => children(outer.pid).length === 1, 10_000), "unshare started no process");
  const inner = children(outer.pid)[0] as number;
  try {
    await nextStart(record, 0);
    await outer.waitFor(/started .* \(pid \d+\)/);
    // As PID 1 tenure starts no watchdog: its only child is the command, so the kernel alone is tested.
    assert.equal(children(inner).length, 1, `tenure as PID 1 has children ${children(inner).join(", ")}`);
    // SIGKILL from outside the namespace, as the kubelet's runtime kills a container's PID 1.
    process.kill(inner, "SIGKILL");
    const at = Date.now();
    await outer.exited;
    await sleep(500);
    const last = readRecord(record).at(-1)!;
    assert.ok(last.at < at + 200, `the child beat ${last.at - at} ms after tenure (PID 1) was killed`);
  } finally {
    if (!gone(inner)) process.kill(inner, "SIGKILL");
  }
});
