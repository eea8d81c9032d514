/**
 * Rejoin under random partitions and errors: three electors with `rejoin: true` on one memory
 * lock, each cut off (requests hang, its watch goes silent) and healed at random, with random
 * request errors. After every timer: never two leaders (by `isLeader()` or by a leader signal not
 * yet aborted). Per elector: each term starts only after the last one's signal aborted and its
 * work settled (work may take longer than renewDeadline), with a larger fencing `transitions`. Once
 * all is healed, a leader appears within leaseDuration + 2.2 x retryPeriod, plus the wind-down of a
 * cut-off leader's work.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { prng } from "../support/simulation.ts";
import { type Candidate, world } from "../support/candidates.ts";

const LD = 15_000;
const RP = 2_000;

describe("rejoin under random partitions (seeded)", () => {
  for (let seed = 1; seed <= 8; seed++) {
    it(`seed ${seed}: never two leaders; terms per elector are fresh, ordered and never overlap`, async () => {
      const random = prng(seed);
      const w = world({ rejoin: true, releaseOnCancel: seed % 2 === 0, random });
      const cut = new Map<string, boolean>();
      const settled: Record<string, number> = {};
      const electors: Candidate[] = ["a", "b", "c"].map((id) => {
        const candidate = w.candidate(id, {
          onStartedLeading: (signal, term) => {
            candidate.terms.push(term);
            candidate.events.push([w.clock.now(), "started"]);
            assert.ok(candidate.signal === undefined || candidate.signal.aborted, `${id}: a new term while the last one's signal is live`);
            assert.ok((settled[id] ?? 0) >= candidate.terms.length - 1, `${id}: a new term before the last one's work settled`);
            candidate.signal = signal;
            // Work that takes up to 40 s to wind down after its signal aborts (well past renewDeadline).
            const windDown = random() * 40_000;
            return new Promise<void>((resolve) =>
              signal.addEventListener("abort", () => void w.clock.setTimer(w.clock.now() + windDown, () => (settled[id] = (settled[id] ?? 0) + 1, resolve())))
            );
          },
        }, {}, [(op) => (cut.get(id) ? (op === "watch" ? { silent: true } : { hang: true }) : random() < 0.05 ? { error: "ServerError" } : undefined)]);
        return candidate;
      });

      const end = 600_000;
      for (let t = 0; t < end; t += 1_000 + random() * 20_000) {
        w.clock.setTimer(t, () => {
          const target = electors[Math.floor(random() * electors.length)]!;
          cut.set(target.id, !cut.get(target.id));
          if (cut.get(target.id)) w.store.closeWatches(); // its reopened watch is silent
        });
      }
      let violations = 0;
      while ((w.clock.next() ?? Infinity) <= end) {
        await w.clock.step();
        const believers = electors.filter((e) => e.elector.isLeader());
        const acting = electors.filter((e) => e.signal !== undefined && !e.signal.aborted);
        if (believers.length > 1 || acting.length > 1) violations++;
      }
      assert.equal(violations, 0, "two leaders at once");

      // Heal everyone: a leader appears within the bound.
      cut.clear();
      const healed = w.clock.now();
      assert.ok(await w.clock.until(() => electors.some((e) => e.elector.isLeader()), 120_000));
      const recovery = w.clock.now() - healed;
      assert.ok(recovery <= LD + 2.2 * RP + 40_000 + 1_000, `a leader ${recovery} ms after healing`);

      for (const e of electors) {
        const transitions = e.terms.map((t) => t.transitions);
        assert.deepEqual(transitions, [...transitions].sort((x, y) => x - y), `${e.id}: terms in order`);
        assert.equal(new Set(transitions).size, transitions.length, `${e.id}: every term fresh`);
        assert.equal(e.outcome, undefined, `${e.id}: run goes on`);
      }
      const leaderships = electors.reduce((sum, e) => sum + e.terms.length, 0);
      assert.ok(leaderships >= 3, `${leaderships} terms in 10 minutes`);
      for (const e of electors) e.controller.abort();
      await w.clock.until(() => electors.every((e) => e.outcome !== undefined), 60_000);
      assert.deepEqual(electors.map((e) => e.outcome), ["resolved", "resolved", "resolved"]);
    });
  }
});
