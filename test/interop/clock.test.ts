/**
 * tenure-peer's times are on the harness's CLOCK_MONOTONIC on every runtime, or refused: on Node as
 * read (process.hrtime is CLOCK_MONOTONIC), on Deno and Bun synced to it by --clock-sync (their
 * process.hrtime counts from their own start). Each line must fall between the harness's clock
 * before the spawn and when it read the line; without --clock-sync, Deno's lines say they are on
 * their "process" clock and the checker refuses to judge them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ELECTION_RULES, kube, sandbox } from "../e2e/support.ts";
import { runtime } from "../runtimes/runtimes.ts";
import type { Timings } from "./checker.ts";
import { Fleet, MAX_CLOCK_ERROR_MS, monoMs, nodeTenureCommand, repoRoot } from "./fleet.ts";

const TIMINGS: Timings = { leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500 };
const SOURCE = join(repoRoot(), "test", "interop", "tenure-peer.ts");
const deno = runtime("deno");
const bun = runtime("bun");
process.env["DENO_NO_UPDATE_CHECK"] = "1";

interface Case {
  readonly name: "node" | "deno" | "bun";
  readonly command: readonly string[] | undefined;
  readonly missing?: string | undefined;
  readonly clock: "monotonic" | "synced";
}

const CASES: readonly Case[] = [
  { name: "node", command: nodeTenureCommand(), clock: "monotonic" },
  { name: "deno", command: deno.bin === undefined ? undefined : [deno.bin, "run", "--allow-all", SOURCE], missing: deno.missing, clock: "synced" },
  { name: "bun", command: bun.bin === undefined ? undefined : [bun.bin, SOURCE], missing: bun.missing, clock: "synced" },
];

describe("tenure-peer's clock", async () => {
  const box = await sandbox("interop-clock", ELECTION_RULES);
  const fleetOf = (name: string, command: readonly string[], clockSync = true): Fleet =>
    new Fleet({ kube, namespace: box.namespace, tokenFile: box.tokenFile, name, timings: TIMINGS, goPeers: {}, tenureCommand: command, clockSync });

  for (const c of CASES) {
    it(`on ${c.name}: every line's mono_ns is on the harness's CLOCK_MONOTONIC (${c.clock})`, { skip: c.command === undefined ? c.missing : false }, async () => {
      const fleet = fleetOf(`clock-${c.name}`, c.command as readonly string[]);
      const spawned = monoMs();
      const peer = fleet.spawn({ impl: "tenure", identity: `${c.name}-1` });
      try {
        await fleet.until(() => peer.leading, 15_000, `${peer.identity} to lead`);
        await fleet.stop(peer, "SIGTERM");
      } finally {
        await fleet.close();
      }
      const ready = peer.ready;
      assert.ok(ready !== undefined);
      assert.equal(ready["runtime"], c.name);
      assert.equal(ready["clock"], c.clock);
      const error = Number(ready["clock_error_ns"] ?? 0) / 1e6;
      if (c.clock === "synced") assert.ok(error > 0 && error <= MAX_CLOCK_ERROR_MS, `clock_error_ns ${ready["clock_error_ns"]}`);
      else assert.equal(ready["clock_error_ns"], undefined);
      const events = peer.lines.map((l) => l.event);
      assert.deepEqual(events.filter((e) => e !== "new_leader"), ["ready", "started", "work_stopped", "stopped"]);
      const exited = (await peer.closed).mono;
      for (const line of peer.lines) {
        assert.equal(line.clock, c.clock, line.raw);
        assert.ok(line.mono >= spawned - error && line.mono <= exited + error, `${line.raw}: not within [${spawned}, ${exited}] ms of CLOCK_MONOTONIC`);
      }
      const verdict = fleet.verdict();
      assert.equal(verdict.ok, true, verdict.report);
    });
  }

  it("without --clock-sync, Deno's times are on its own clock, which is refused rather than compared", { skip: deno.bin === undefined ? deno.missing : false }, async () => {
    const fleet = fleetOf("clock-unsynced", [deno.bin as string, "run", "--allow-all", SOURCE], false);
    const peer = fleet.spawn({ impl: "tenure", identity: "deno-unsynced" });
    try {
      await fleet.until(() => peer.leading, 15_000, `${peer.identity} to lead`);
    } finally {
      await fleet.close();
    }
    assert.equal(peer.ready?.["clock"], "process");
    const verdict = fleet.verdict();
    assert.equal(verdict.ok, false);
    // The fleet notices the times are far from its clock; the checker refuses the clock by name.
    assert.match(verdict.report, /\[clock\] deno-unsynced printed mono_ns \d+ \(clock "process"\), \d+\.\d+ ms before this process's CLOCK_MONOTONIC when it read the line/);
    assert.match(verdict.report, /\[clock\] deno-unsynced timed its lines on its "process" clock/);
    assert.deepEqual(verdict.intervals, []);
  });
});
