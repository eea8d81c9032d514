/**
 * The judge of an interop run: from every process's JSON lines, and the harness's own record of
 * the signals it sent and the exits it saw (all on CLOCK_MONOTONIC), it proves
 *
 *   (a) no two leadership intervals overlap. A process leads over [started, stopped), or
 *       [started, work_stopped) when it reports that its work stopped earlier (tenure-peer does:
 *       tenure stops the work before it releases; client-go cancels its leader's context only
 *       after releasing, right before "stopped"); one that was SIGKILLed while leading, over
 *       [started, kill time): it can act no later than its death. Touching intervals ([a, b) and
 *       [b, c)) are allowed;
 *   (b) after each leader crash (or release) a leader exists again within the bound the harness
 *       gives for that round (see `recoveryBound`), and after a crash not sooner than the lease
 *       allows (see `earliestTakeover`);
 *   (c) the lines make sense: no `started` twice without a `stopped`, no process that exited
 *       without being told to, a gracefully stopped process exits 0 after printing `stopped`, no
 *       tenure peer stopped leading for any reason but a stop (its work_stopped says why);
 *
 * except for the overlaps of a race the harness names as known (see `KnownRace`): those are
 * measured and listed, not failed.
 *
 * All of this compares times of different processes, so it needs them on one clock: it refuses,
 * with a "clock" violation and no other verdict, any event that says it was timed on another clock
 * (see `Clock`), and treats two times whose clocks were only synced within some error as too close
 * to call when they are nearer than those errors (see `PeerEvent.uncertainty`).
 *
 * Pure: no I/O, no clock. The harness (fleet.ts) feeds it; checker.test.ts tests it on synthetic
 * lists.
 *
 * @module
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The clock a time was read from. Only two put it on the harness's timeline (CLOCK_MONOTONIC, on
 * which the harness times its kills, exits and deadlines):
 *
 * - "monotonic": CLOCK_MONOTONIC itself. The client-go peers read it (clock_gettime), and so does
 *   tenure-peer on Node, whose process.hrtime is libuv's uv_hrtime, i.e. CLOCK_MONOTONIC on Linux.
 * - "synced": the process's own monotonic clock plus an offset to CLOCK_MONOTONIC that it measured
 *   against the harness, within a known error (tenure-peer --clock-sync on Deno and Bun, whose
 *   process.hrtime counts from their own start; see tenure-peer.ts).
 *
 * Anything else, e.g. "process" (Deno's or Bun's process.hrtime, unsynced), is on no shared
 * timeline: comparing it with the others would prove nothing, so `check` refuses to.
 */
export type Clock = "monotonic" | "synced" | (string & {});

/** The clocks on the harness's timeline. */
export const COMPARABLE_CLOCKS: readonly Clock[] = ["monotonic", "synced"];

/** One line a peer printed, with its monotonic time in milliseconds. */
export interface PeerEvent {
  /** The process: unique per spawned process (the harness uses the identity). */
  readonly process: string;
  readonly event: string;
  readonly mono: number;
  readonly leader?: string | undefined;
  /** The clock `mono` was read from; undefined: "monotonic". */
  readonly clock?: Clock | undefined;
  /**
   * How far, in ms, `mono` may be from the CLOCK_MONOTONIC reading it stands for: a synced
   * clock's error bound; undefined: 0. An end and a start of two processes closer than their
   * uncertainties together cannot be ordered, and count as an overlap.
   */
  readonly uncertainty?: number | undefined;
  /** On a tenure peer's work_stopped: why its leadership ended (stopped, renewDeadline, holder, failed). */
  readonly why?: string | undefined;
  /** With why "holder": the holder it saw. */
  readonly holder?: string | undefined;
}

/** A signal the harness sent, timed just before sending. */
export interface Kill {
  readonly process: string;
  readonly mono: number;
  readonly signal: "SIGKILL" | "SIGTERM";
}

/** An exit the harness saw, timed when it saw it (after the fact). */
export interface Exit {
  readonly process: string;
  readonly mono: number;
  readonly code: number | null;
  readonly signal: string | null;
}

/** A leader must start within `within` ms after `after` (e.g. the leader's crash). */
export interface Deadline {
  readonly after: number;
  readonly within: number;
  /** Says what happened and why this bound, for the violation message. */
  readonly why: string;
  /** The process whose end is being recovered from; its own intervals do not count. */
  readonly from?: string;
  /**
   * After a crash: a leader starting sooner than this many ms after `after` took over a lease
   * that had not expired (see `earliestTakeover`).
   */
  readonly notBefore?: number;
}

/**
 * An overlap that one side's protocol lets happen and the other cannot prevent: measured, not
 * failed. client-go's MultiLock writes the Lease against a version it re-reads just before, so
 * during a migration it can overwrite a Lease that a Lease-only peer took from the same vacancy a
 * moment earlier. An overlap counts as this race only when both terms began from that one vacancy
 * (their starts at most `vacancy` ms apart), it lasted at most `overlap` ms, and, where `named`,
 * the victim stepped down because it saw the intruder hold the lease (tenure's work_stopped names
 * it; client-go says nothing, and steps down only at its renewDeadline). Anything else, such as a
 * victim taking over a live intruder's lease (its term would start long after the intruder's),
 * stays an overlap.
 */
export interface KnownRace {
  readonly name: string;
  readonly victims: readonly string[];
  readonly intruders: readonly string[];
  readonly vacancy: number;
  readonly overlap: number;
  readonly named: boolean;
}

/** One occurrence of a known race. */
export interface Race {
  readonly name: string;
  readonly victim: string;
  readonly intruder: string;
  /** When the later of the two terms started. */
  readonly at: number;
  /** How long both acted, in ms. */
  readonly overlap: number;
}

export interface CheckInput {
  readonly events: readonly PeerEvent[];
  readonly kills?: readonly Kill[];
  readonly exits?: readonly Exit[];
  readonly deadlines?: readonly Deadline[];
  /** Processes still running when the run was judged: an open interval lasts until `until`. */
  readonly until?: number;
  readonly races?: readonly KnownRace[];
}

export interface Interval {
  readonly process: string;
  readonly start: number;
  /** Infinity while still leading at the end of the run. */
  readonly end: number;
  readonly endedBy: "stopped" | "work_stopped" | "SIGKILL" | "exit" | "open";
  /** Of the start and of the end, in ms (see `PeerEvent.uncertainty`); absent when both are exact. */
  readonly uncertainty?: { readonly start: number; readonly end: number };
  /** The work_stopped that ended it, when one did. */
  readonly ending?: PeerEvent;
}

export interface Recovery {
  readonly deadline: Deadline;
  /** The first leader to start at or after `deadline.after`, if any. */
  readonly leader: string | undefined;
  /** Milliseconds from `deadline.after` to that start. */
  readonly took: number | undefined;
  readonly ok: boolean;
}

export type ViolationKind = "clock" | "overlap" | "no-leader" | "early" | "malformed" | "unexpected-exit" | "lost";

export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
}

export interface Verdict {
  readonly ok: boolean;
  readonly intervals: readonly Interval[];
  readonly recoveries: readonly Recovery[];
  readonly violations: readonly Violation[];
  /** The overlaps that were known races (see `KnownRace`). */
  readonly races: readonly Race[];
  /** Every violation, one per line, with times relative to the first event. */
  readonly report: string;
}

// -------------------------------------------------------------------------------------
// bounds
// -------------------------------------------------------------------------------------

export interface Timings {
  readonly leaseDuration: number;
  readonly renewDeadline: number;
  readonly retryPeriod: number;
}

/** client-go's acquire loop waits uniformly in [retryPeriod, 2.2 x retryPeriod) between attempts. */
export const JITTER_FACTOR = 1.2;

/**
 * How soon after a leader's crash another candidate must lead.
 *
 * - A tenure follower watches the lock: it sees the crashed leader's last renew as it happens and
 *   its timer fires exactly leaseDuration later (the record's duration), so from the crash:
 *   leaseDuration + retryPeriod (the slack covers a renew in flight at the kill, and scheduling).
 * - client-go followers only poll, with jitter up to 2.2 x retryPeriod. The brief for this suite
 *   proposed leaseDuration + 2.2 x retryPeriod + 500 ms, but that is one poll short: a client-go
 *   follower starts its leaseDuration from the first poll that *sees* the last renew (up to
 *   2.2 x retryPeriod after it), and takes over only at the first poll after that expires (up to
 *   2.2 x retryPeriod again). So for rounds in which only client-go candidates (or tenure on a
 *   MultiLock, which polls the same way) remain: leaseDuration + 2 x 2.2 x retryPeriod + 500 ms
 *   (request latency, scheduling on a busy CI machine). With 3 s / 500 ms: 3.5 s vs 5.7 s.
 */
export const recoveryBound = (timings: Timings, followers: "watching" | "polling"): number =>
  followers === "watching"
    ? timings.leaseDuration + timings.retryPeriod
    : timings.leaseDuration + 2 * (1 + JITTER_FACTOR) * timings.retryPeriod + 500;

/**
 * The soonest another candidate may lead after a leader's crash. The crashed leader's last renew
 * was at most one renew interval before the kill (plus latency): retryPeriod for client-go, and for
 * tenure, which renews once a wall-clock second at most (client-go's followers see no more), the
 * longer of retryPeriod and a second. A follower may take over only leaseDuration after it saw that
 * renew. A follower that compares records at second precision (client-go compares metav1.Time, and
 * legacy annotation records hold whole seconds) may have last seen a change up to a second before
 * that renew. 100 ms for timestamps and scheduling.
 */
export const earliestTakeover = (timings: Timings, precision: "micro" | "second"): number =>
  timings.leaseDuration - Math.max(timings.retryPeriod, 1_000) - (precision === "second" ? 1_000 : 0) - 100;

/**
 * How soon after a release (the old leader's `stopped`) another candidate must lead: a watching
 * tenure follower reacts to the release event in milliseconds (1 s allows for a busy machine); a
 * polling follower at its next poll, at most 2.2 x retryPeriod later, plus 300 ms of latency.
 */
export const handoverBound = (timings: Timings, followers: "watching" | "polling"): number =>
  followers === "watching" ? 1_000 : (1 + JITTER_FACTOR) * timings.retryPeriod + 300;

// -------------------------------------------------------------------------------------
// the check
// -------------------------------------------------------------------------------------

export const check = (input: CheckInput): Verdict => {
  const kills = input.kills ?? [];
  const exits = input.exits ?? [];
  const until = input.until ?? Number.POSITIVE_INFINITY;
  const violations: Violation[] = [];
  const base = Math.min(
    ...input.events.map((e) => e.mono),
    ...kills.map((k) => k.mono),
    ...(input.deadlines ?? []).map((d) => d.after),
  );
  const at = (mono: number): string => (Number.isFinite(mono) ? `${((mono - (Number.isFinite(base) ? base : 0)) / 1000).toFixed(3)} s` : "the end");

  // Clocks first: times from a clock that is not on the harness's timeline make every comparison
  // below meaningless, in either direction (a real overlap can vanish as easily as a false one
  // appear), so there is nothing to judge until every process is on it.
  const foreign = new Map<string, Clock>();
  for (const event of input.events) {
    const clock = event.clock ?? "monotonic";
    if (!COMPARABLE_CLOCKS.includes(clock) && !foreign.has(event.process)) foreign.set(event.process, clock);
  }
  if (foreign.size > 0) {
    for (const [process, clock] of foreign) {
      violations.push({
        kind: "clock",
        message: `${process} timed its lines on its "${clock}" clock, which is not CLOCK_MONOTONIC (nor synced to it) like the harness's and the other processes': refusing to compare them`,
      });
    }
    const report = violations.map((v) => `  [${v.kind}] ${v.message}`).join("\n");
    return { ok: false, intervals: [], recoveries: [], violations, races: [], report };
  }
  const uncertainty = (event: PeerEvent): number => event.uncertainty ?? 0;

  // Leadership intervals, per process in its own order of lines.
  const byProcess = new Map<string, PeerEvent[]>();
  for (const event of input.events) {
    const list = byProcess.get(event.process) ?? [];
    list.push(event);
    byProcess.set(event.process, list);
  }
  const intervals: Interval[] = [];
  const interval = (process: string, start: PeerEvent, end: number, endedBy: Interval["endedBy"], endUncertainty: number, ending?: PeerEvent): Interval => ({
    process,
    start: start.mono,
    end,
    endedBy,
    ...(uncertainty(start) === 0 && endUncertainty === 0 ? {} : { uncertainty: { start: uncertainty(start), end: endUncertainty } }),
    ...(ending === undefined ? {} : { ending }),
  });
  for (const [process, events] of byProcess) {
    const sorted = [...events].sort((a, b) => a.mono - b.mono);
    let open: PeerEvent | undefined;
    for (const event of sorted) {
      if (event.event === "started") {
        if (open !== undefined) {
          violations.push({ kind: "malformed", message: `${process} printed "started" at ${at(event.mono)} while already leading since ${at(open.mono)}` });
          continue;
        }
        open = event;
      } else if ((event.event === "stopped" || event.event === "work_stopped") && open !== undefined) {
        intervals.push(interval(process, open, event.mono, event.event, uncertainty(event), event.event === "work_stopped" ? event : undefined));
        open = undefined;
      }
    }
    if (open === undefined) continue;
    const start = open.mono;
    // The harness's own times (kills, exits) are exact.
    const killed = kills.find((k) => k.process === process && k.signal === "SIGKILL" && k.mono >= start);
    const exited = exits.find((x) => x.process === process && x.mono >= start);
    if (killed !== undefined) intervals.push(interval(process, open, killed.mono, "SIGKILL", 0));
    else if (exited !== undefined) intervals.push(interval(process, open, exited.mono, "exit", 0));
    else intervals.push(interval(process, open, until, "open", 0));
  }
  intervals.sort((a, b) => a.start - b.start || a.end - b.end);

  // (a) no two at once. Sorted by start, so each interval is compared with those starting later;
  // `slack` is the most any two times may be off from each other, which ends that scan.
  const slack = 2 * Math.max(0, ...input.events.map(uncertainty));
  const races: Race[] = [];
  const raced = new Set<Interval>();
  /** The known race that explains the overlap of `a` and `b` (`both` ms long), if one does. */
  const raceOf = (a: Interval, b: Interval, both: number): Race | undefined => {
    for (const race of input.races ?? []) {
      for (const [victim, intruder] of [[a, b], [b, a]] as const) {
        if (
          race.victims.includes(victim.process) && race.intruders.includes(intruder.process) &&
          (!race.named || (victim.ending?.why === "holder" && victim.ending.holder === intruder.process)) &&
          Math.abs(victim.start - intruder.start) <= race.vacancy && both <= race.overlap
        ) {
          raced.add(victim);
          return { name: race.name, victim: victim.process, intruder: intruder.process, at: b.start, overlap: Math.max(0, both) };
        }
      }
    }
    return undefined;
  };
  for (let i = 0; i < intervals.length; i++) {
    const a = intervals[i] as Interval;
    for (let j = i + 1; j < intervals.length; j++) {
      const b = intervals[j] as Interval;
      if (b.start >= a.end + slack) break;
      if (b.end <= b.start) continue; // empty: started and stopped at the same instant
      const margin = (a.uncertainty?.end ?? 0) + (b.uncertainty?.start ?? 0);
      if (b.start >= a.end + margin) continue;
      const both = Math.min(a.end, b.end) - b.start;
      const race = raceOf(a, b, both);
      if (race !== undefined) {
        races.push(race);
        continue;
      }
      const led = `${a.process} led [${at(a.start)}, ${at(a.end)}) (ended by ${a.endedBy}) and ${b.process} led [${at(b.start)}, ${at(b.end)}) (ended by ${b.endedBy})`;
      violations.push({
        kind: "overlap",
        message: both > 0
          ? `two leaders: ${led}: ${Number.isFinite(both) ? `${both.toFixed(1)} ms` : "from then on"} of overlap`
          : `maybe two leaders: ${led}: ${(-both).toFixed(3)} ms apart, less than their clocks' uncertainty (${margin.toFixed(3)} ms), so their order is unknown`,
      });
    }
  }

  // (b) a leader again within the bound.
  const recoveries: Recovery[] = (input.deadlines ?? []).map((deadline) => {
    const next = intervals.find((i) => i.start >= deadline.after && i.process !== deadline.from);
    const took = next === undefined ? undefined : next.start - deadline.after;
    const early = took !== undefined && deadline.notBefore !== undefined && took < deadline.notBefore;
    const ok = took !== undefined && took <= deadline.within && !early;
    if (early) {
      violations.push({
        kind: "early",
        message: `${deadline.why}: ${next?.process} took over ${took.toFixed(0)} ms after ${at(deadline.after)}, sooner than the lease allows (${deadline.notBefore} ms)`,
      });
    } else if (!ok) {
      violations.push({
        kind: "no-leader",
        message: took === undefined
          ? `${deadline.why}: no leader started after ${at(deadline.after)} (bound ${deadline.within.toFixed(0)} ms)`
          : `${deadline.why}: the next leader, ${next?.process}, started ${took.toFixed(0)} ms after ${at(deadline.after)}, beyond the bound of ${deadline.within.toFixed(0)} ms`,
      });
    }
    return { deadline, leader: next?.process, took, ok };
  });

  // (c) nobody stops leading by itself but the victim of a known race (tenure peers say why; a
  // client-go peer that loses exits, which (c) below catches);
  for (const i of intervals) {
    const why = i.ending?.why;
    // A yield is asked for: the coordinator of coordinated election preferred another candidate.
    if (why === undefined || why === "stopped" || why === "yield" || raced.has(i)) continue;
    violations.push({
      kind: "lost",
      message: `${i.process} stopped leading by itself at ${at(i.end)} (${why}${i.ending?.holder === undefined ? "" : `: ${i.ending.holder || '""'} holds the lease`})`,
    });
  }

  // every exit was asked for; a graceful stop prints "stopped" and exits 0.
  for (const exit of exits) {
    const asked = kills.filter((k) => k.process === exit.process && k.mono <= exit.mono);
    const how = `${exit.code === null ? `signal ${exit.signal}` : `code ${exit.code}`}`;
    if (asked.length === 0) {
      violations.push({ kind: "unexpected-exit", message: `${exit.process} exited by itself at ${at(exit.mono)} (${how})` });
      continue;
    }
    if (asked.some((k) => k.signal === "SIGKILL")) continue;
    const stopped = (byProcess.get(exit.process) ?? []).some((e) => e.event === "stopped");
    if (exit.code !== 0 || !stopped) {
      violations.push({
        kind: "unexpected-exit",
        message: `${exit.process} was stopped with SIGTERM but ${stopped ? "" : 'printed no "stopped" and '}exited with ${how}`,
      });
    }
  }

  const report = violations.map((v) => `  [${v.kind}] ${v.message}`).join("\n");
  return { ok: violations.length === 0, intervals, recoveries, violations, races, report };
};
