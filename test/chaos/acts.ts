/**
 * The judge of a chaos run, from the "act" lines of every process (its work loop acting as
 * leader, with its term's leaseTransitions), on one clock (CLOCK_MONOTONIC, ms), and the faults
 * the harness dealt. Pure: no I/O, no clock.
 *
 * - A term is one process's acts with one transitions number; its span runs from its first act to
 *   its last. Two terms whose spans meet are two holders acting at overlapping instants: an
 *   overlap, as long as the spans share (0 when one's single act falls inside the other's span, or
 *   when their times are nearer than their clocks' uncertainty). Checked per Lease (group).
 * - Transitions never go backwards: in time order, no act carries a smaller transitions number
 *   than an earlier act on the same Lease, and no two processes act with the same one.
 * - After each fault heals, a leader acts within the bound: the first *current* act (one whose
 *   transitions is at least every earlier act's; a stale leader's acts do not count) at or after
 *   the heal comes within `bound` ms.
 * - Leaderless time of a fault: from its start until the next fault starts (or the run ends), the
 *   sum of the gaps between consecutive current acts longer than `gap` ms (scheduling noise below
 *   that), clipped to that window.
 *
 * @module
 */

export interface Act {
  /** The Lease it competes on: one group of processes (e.g. "tenure", "client-go"). */
  readonly group: string;
  readonly process: string;
  readonly mono: number;
  readonly transitions: number;
  /** ms the time may be off CLOCK_MONOTONIC (a synced clock's error); 0 when read from it. */
  readonly uncertainty: number;
}

export interface Fault {
  readonly name: string;
  /** When it was dealt. */
  readonly start: number;
  /** When it healed (the process continued, the server was ready, the proxy passed bytes again). */
  readonly heal: number;
  /** The groups it was dealt to. */
  readonly groups: readonly string[];
}

export interface Overlap {
  readonly group: string;
  readonly a: string;
  readonly b: string;
  /** ms both acted; 0 for a single act inside the other's span. */
  readonly ms: number;
  /** Acts of the earlier term at or after the later term's first act. */
  readonly acts: number;
  readonly at: number;
  readonly message: string;
}

export interface FaultResult {
  readonly fault: Fault;
  readonly group: string;
  readonly leaderless: number;
  readonly overlaps: readonly Overlap[];
  /** ms from the heal to the first current act, undefined if none came. */
  readonly recovered: number | undefined;
  /**
   * Whether the term acting when the fault came led on through it (undefined), or else the time
   * from that term's last act to the first act of a newer one (ms; negative when the old one acted
   * on after the new one began). undefined too when no term acted at the fault's start.
   */
  readonly handover: number | undefined;
  readonly boundHeld: boolean;
}

export interface ChaosVerdict {
  readonly results: readonly FaultResult[];
  readonly overlaps: readonly Overlap[];
  /** Transitions that went backwards or were shared by two processes. */
  readonly backwards: readonly string[];
}

export interface Term {
  readonly group: string;
  readonly process: string;
  readonly transitions: number;
  readonly start: number;
  readonly end: number;
  readonly uncertainty: number;
  readonly times: readonly number[];
}

export const terms = (acts: readonly Act[]): Term[] => {
  const byKey = new Map<string, Term>();
  for (const act of acts) {
    const key = `${act.group}\u0000${act.process}\u0000${act.transitions}`;
    const t = byKey.get(key);
    byKey.set(key, t === undefined
      ? { group: act.group, process: act.process, transitions: act.transitions, start: act.mono, end: act.mono, uncertainty: act.uncertainty, times: [act.mono] }
      : { ...t, start: Math.min(t.start, act.mono), end: Math.max(t.end, act.mono), uncertainty: Math.max(t.uncertainty, act.uncertainty), times: [...t.times, act.mono] });
  }
  return [...byKey.values()].sort((a, b) => a.start - b.start);
};

export const overlaps = (acts: readonly Act[], base = 0): Overlap[] => {
  const all = terms(acts);
  const found: Overlap[] = [];
  for (let i = 0; i < all.length; i++) {
    const a = all[i] as Term;
    for (let j = i + 1; j < all.length; j++) {
      const b = all[j] as Term;
      if (b.group !== a.group) continue;
      const margin = a.uncertainty + b.uncertainty;
      if (b.start > a.end + margin) continue;
      const ms = Math.max(0, Math.min(a.end, b.end) - b.start);
      const stale = a.times.filter((t) => t >= b.start - margin).length;
      const s = (t: number): string => `${((t - base) / 1000).toFixed(3)} s`;
      found.push({
        group: a.group,
        a: a.process,
        b: b.process,
        ms,
        acts: stale,
        at: b.start,
        message: `${a.group}: ${a.process} acted in term ${a.transitions} over [${s(a.start)}, ${s(a.end)}] and ${b.process} in term ${b.transitions} over [${s(b.start)}, ${s(b.end)}]: ${ms.toFixed(1)} ms together, ${stale} act(s) of ${a.process} after ${b.process}'s first`,
      });
    }
  }
  return found;
};

/** Acts whose transitions is at least that of every earlier act of their group. */
export const current = (acts: readonly Act[]): Act[] => {
  const highest = new Map<string, number>();
  const out: Act[] = [];
  for (const act of [...acts].sort((a, b) => a.mono - b.mono)) {
    const top = highest.get(act.group) ?? -1;
    if (act.transitions >= top) {
      out.push(act);
      highest.set(act.group, act.transitions);
    }
  }
  return out;
};

export const backwards = (acts: readonly Act[], base = 0): string[] => {
  const problems: string[] = [];
  const highest = new Map<string, Act>();
  const owner = new Map<string, string>();
  for (const act of [...acts].sort((a, b) => a.mono - b.mono)) {
    const top = highest.get(act.group);
    if (top !== undefined && act.transitions < top.transitions && act.mono > top.mono + act.uncertainty + top.uncertainty) {
      problems.push(`${act.group}: ${act.process} acted with transitions ${act.transitions} at ${((act.mono - base) / 1000).toFixed(3)} s, after ${top.process} acted with ${top.transitions}`);
    }
    if (top === undefined || act.transitions > top.transitions) highest.set(act.group, act);
    const key = `${act.group}\u0000${act.transitions}`;
    const first = owner.get(key);
    if (first === undefined) owner.set(key, act.process);
    else if (first !== act.process) {
      problems.push(`${act.group}: ${first} and ${act.process} both acted with transitions ${act.transitions}`);
      owner.set(key, act.process);
    }
  }
  return problems;
};

export interface JudgeOptions {
  /** A leader must act within this many ms after a heal. */
  readonly bound: number;
  /** Gaps between acts up to this long are not leaderless time. */
  readonly gap: number;
  /** The work loop's period: of a longer gap, this much is not leaderless time either (default 0). */
  readonly spacing?: number;
  /** The run's end: the last window closes here. */
  readonly until: number;
  /** For messages: times are printed relative to this. */
  readonly base?: number;
}

export const judge = (acts: readonly Act[], faults: readonly Fault[], options: JudgeOptions): ChaosVerdict => {
  const base = options.base ?? 0;
  const all = overlaps(acts, base);
  const live = current(acts);
  const sorted = [...faults].sort((a, b) => a.start - b.start);
  const results: FaultResult[] = [];
  sorted.forEach((fault, i) => {
    const end = sorted[i + 1]?.start ?? options.until;
    for (const group of fault.groups) {
      const times = live.filter((a) => a.group === group).map((a) => a.mono);
      let leaderless = 0;
      let previous = [...times].reverse().find((t) => t <= fault.start) ?? fault.start;
      for (const t of [...times.filter((t) => t > fault.start && t < end), end]) {
        // A gap longer than `gap` is leaderless but for the usual spacing of acts (`spacing`).
        const span = Math.min(t, end) - Math.max(previous, fault.start);
        if (t - previous > options.gap) leaderless += Math.max(0, span - (options.spacing ?? 0));
        previous = t;
      }
      const first = times.find((t) => t >= fault.heal);
      const recovered = first === undefined ? undefined : first - fault.heal;
      results.push({
        fault,
        group,
        leaderless,
        overlaps: all.filter((o) => o.group === group && o.at >= fault.start && o.at < end),
        recovered,
        boundHeld: recovered !== undefined && recovered <= options.bound,
        handover: handover(acts, live.filter((a) => a.group === group), fault.start, end),
      });
    }
  });
  return { results, overlaps: all, backwards: backwards(acts, base) };
};

/** See FaultResult.handover: `live` is the group's current acts. */
const handover = (acts: readonly Act[], live: readonly Act[], start: number, end: number): number | undefined => {
  const before = [...live].reverse().find((a) => a.mono <= start);
  if (before === undefined) return undefined;
  const same = (a: Act): boolean => a.process === before.process && a.transitions === before.transitions && a.group === before.group;
  const next = live.find((a) => a.mono > start && a.mono < end && !same(a));
  if (next === undefined) return undefined;
  const last = Math.max(...acts.filter((a) => same(a) && a.mono < end).map((a) => a.mono));
  return next.mono - last;
};

/** A write the API server committed to a group's Lease, with the holder it named. */
export interface Write {
  readonly group: string;
  readonly holder: string;
  readonly mono: number;
}

/**
 * How long after its last committed write the term acting at `start` acted for the last time
 * before it stopped (its longest pause before `end`, if longer than `gap`): what a follower's expiry
 * clock, started at that write at the earliest, had run by then. Past leaseDuration, a follower
 * may have taken over while it still acted. undefined when that term acted on throughout, when no
 * term acted at `start`, or when none of its writes is known.
 */
export const actedAfterWrite = (acts: readonly Act[], writes: readonly Write[], group: string, start: number, end: number, gap: number): number | undefined => {
  const before = [...current(acts).filter((a) => a.group === group)].reverse().find((a) => a.mono <= start);
  if (before === undefined) return undefined;
  const times = acts
    .filter((a) => a.group === group && a.process === before.process && a.transitions === before.transitions && a.mono >= before.mono && a.mono < end)
    .map((a) => a.mono)
    .sort((a, b) => a - b);
  // Its stop: the act before its longest pause (a hiccup of a loaded machine is a shorter one).
  let stop: number | undefined;
  let longest = gap;
  times.forEach((t, i) => {
    const pause = (times[i + 1] ?? end) - t;
    if (pause > longest) [stop, longest] = [t, pause];
  });
  if (stop === undefined) return undefined;
  const last = stop;
  const write = [...writes].reverse().find((w) => w.group === group && w.holder === before.process && w.mono <= last);
  return write === undefined ? undefined : last - write.mono;
};
