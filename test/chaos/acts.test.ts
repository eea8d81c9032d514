/** The chaos checker (acts.ts) on synthetic act lists. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { type Act, actedAfterWrite, backwards, current, judge, overlaps } from "./acts.ts";

const run = (process: string, transitions: number, from: number, to: number, every = 100, group = "g"): Act[] => {
  const out: Act[] = [];
  for (let t = from; t <= to; t += every) out.push({ group, process, mono: t, transitions, uncertainty: 0 });
  return out;
};

it("a clean handover has no overlap, no backwards transitions, and its gap is leaderless time", () => {
  const acts = [...run("a", 0, 0, 1_000), ...run("b", 1, 4_000, 6_000)];
  assert.deepEqual(overlaps(acts), []);
  assert.deepEqual(backwards(acts), []);
  const v = judge(acts, [{ name: "kill", start: 1_050, heal: 1_050, groups: ["g"] }], { bound: 5_100, gap: 500, until: 6_000 });
  const r = v.results[0];
  assert.ok(r !== undefined);
  assert.equal(r.leaderless, 4_000 - 1_050);
  assert.equal(r.recovered, 4_000 - 1_050);
  assert.equal(r.boundHeld, true);
});

it("a stalled leader's act after the new leader began is an overlap, goes backwards, and is no recovery", () => {
  const acts = [...run("a", 0, 0, 1_000), { group: "g", process: "a", mono: 5_000, transitions: 0, uncertainty: 0 }, ...run("b", 1, 4_000, 6_000)];
  const found = overlaps(acts);
  assert.equal(found.length, 1);
  assert.equal(found[0]?.ms, 1_000);
  assert.equal(found[0]?.acts, 1, "one act of the stalled leader after b's first");
  assert.equal(backwards(acts).length, 1);
  assert.equal(current(acts).some((a) => a.process === "a" && a.mono === 5_000), false);
  const v = judge(acts, [{ name: "stop", start: 1_050, heal: 4_500, groups: ["g"] }], { bound: 10_000, gap: 500, until: 6_000 });
  assert.equal(v.results[0]?.recovered, 0); // b acts at 4 500
  assert.equal(v.results[0]?.overlaps.length, 1);
});

it("groups are judged apart, and times nearer than the clocks' uncertainty count as an overlap", () => {
  const a: Act = { group: "x", process: "a", mono: 1_000, transitions: 0, uncertainty: 1 };
  const b: Act = { group: "x", process: "b", mono: 1_001.5, transitions: 1, uncertainty: 1 };
  const c: Act = { group: "y", process: "c", mono: 1_000, transitions: 0, uncertainty: 0 };
  assert.equal(overlaps([a, b]).length, 1);
  assert.equal(overlaps([a, { ...b, mono: 1_002.5 }]).length, 0);
  assert.equal(overlaps([a, c]).length, 0);
});

it("no leader after the heal fails the bound", () => {
  const acts = run("a", 0, 0, 1_000);
  const v = judge(acts, [{ name: "f", start: 1_050, heal: 2_000, groups: ["g"] }], { bound: 5_100, gap: 500, until: 9_000 });
  assert.equal(v.results[0]?.recovered, undefined);
  assert.equal(v.results[0]?.boundHeld, false);
  assert.equal(v.results[0]?.leaderless, 9_000 - 1_050);
});

it("two processes with one transitions number are reported", () => {
  assert.equal(backwards([...run("a", 2, 0, 200), ...run("b", 2, 5_000, 5_200)]).length, 1);
});

it("a handover is the time from the old term's last act to the new term's first; a lease kept through the fault has none", () => {
  const fault = { name: "f", start: 1_050, heal: 2_000, groups: ["g"] };
  const options = { bound: 5_100, gap: 500, until: 9_000 };
  assert.equal(judge([...run("a", 0, 0, 1_000), ...run("b", 1, 4_000, 6_000)], [fault], options).results[0]?.handover, 3_000);
  assert.equal(judge(run("a", 0, 0, 6_000), [fault], options).results[0]?.handover, undefined);
  assert.equal(judge([...run("a", 0, 0, 5_000), ...run("b", 1, 4_000, 6_000)], [fault], options).results[0]?.handover, -1_000);
  // A new term of the same process (it lost and took the lease back) is a handover too.
  assert.equal(judge([...run("a", 0, 0, 1_000), ...run("a", 1, 2_500, 6_000)], [fault], options).results[0]?.handover, 1_500);
});

it("how long a term acted after its last committed write, until it stopped", () => {
  const acts = [...run("a", 0, 0, 3_500), ...run("b", 1, 4_000, 6_000)];
  const writes = [0, 1_000, 2_000].map((mono) => ({ group: "g", holder: "a", mono }));
  assert.equal(actedAfterWrite(acts, writes, "g", 2_050, 9_000, 250), 1_500);
  assert.equal(actedAfterWrite(acts, [], "g", 2_050, 9_000, 250), undefined);
  assert.equal(actedAfterWrite([], writes, "g", 2_050, 9_000, 250), undefined);
  // The same term stopping and resuming (client-go re-taking its own lease keeps its transitions).
  assert.equal(actedAfterWrite([...run("a", 0, 0, 2_500), ...run("a", 0, 4_000, 6_000)], writes, "g", 2_050, 6_050, 250), 500);
  assert.equal(actedAfterWrite(run("a", 0, 0, 9_000), writes, "g", 2_050, 9_000, 250), undefined, "acted throughout");
  // A hiccup (a loaded machine) before the real stop is not the stop.
  const hiccup = [...run("a", 0, 0, 2_200), ...run("a", 0, 2_600, 3_500), ...run("b", 1, 5_000, 6_000)];
  assert.equal(actedAfterWrite(hiccup, writes, "g", 2_050, 9_000, 250), 1_500);
});
