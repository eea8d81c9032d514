/**
 * What each pod did over time, and the story told about it: a chart with one row per pod and
 * time flowing left to right, plus a log of what happened. Times are ms since the demo began.
 */
import type { Paint } from "./terminal.ts";

export type PodState = "follower" | "leader" | "crashed" | "stopped";

export type Tone = "scene" | "leader" | "crash" | "result" | "plain" | "quiet";

export interface Entry {
  readonly at: number;
  readonly who: string;
  readonly text: string;
  readonly tone: Tone;
}

interface Change {
  readonly at: number;
  readonly state: PodState;
}

export class Timeline {
  readonly entries: Entry[] = [];
  readonly #rows = new Map<string, Change[]>();
  readonly #scenes: { readonly at: number; readonly label: string }[] = [];
  readonly #cell: number;
  readonly #span: number;

  /** `cell`: ms per column; `span`: ms the chart covers. */
  constructor(pods: readonly string[], cell: number, span: number) {
    for (const pod of pods) this.#rows.set(pod, []);
    this.#cell = cell;
    this.#span = span;
  }

  set(pod: string, state: PodState, at: number): void {
    this.#rows.get(pod)?.push({ at, state });
  }

  /** The pod's state at `at` (latest when omitted); undefined before it started. */
  state(pod: string, at: number = Infinity): PodState | undefined {
    return this.#rows.get(pod)?.findLast((change) => change.at <= at)?.state;
  }

  scene(label: string, at: number): void {
    this.#scenes.push({ at, label });
  }

  log(entry: Entry): Entry {
    this.entries.push(entry);
    return entry;
  }

  /** Scene markers, time axis, one row per pod (with `status` on the right, if given), legend. */
  chart(now: number, paint: Paint, status?: (pod: string) => string): string[] {
    const cell = this.#cell;
    const columns = Math.round(this.#span / cell);
    const indent = " ".repeat(Math.max(...[...this.#rows.keys()].map((pod) => pod.length)) + 4);
    const scenes = place(columns, this.#scenes.map(({ at, label }) => [Math.round(at / cell), label] as const));
    const seconds = Array.from({ length: Math.ceil(this.#span / 1000) }, (_, s) => [Math.round((s * 1000) / cell), `${s}s`] as const);
    const shown = Math.min(columns, Math.ceil(now / cell));
    const rows = [...this.#rows.keys()].map((pod) => {
      // Each column shows the state at its middle: all rows sample the same instant, so a
      // handover within one column never draws two leaders in it.
      const cells = Array.from({ length: shown }, (_, i) => this.state(pod, Math.min((i + 0.5) * cell, now)));
      const bar = runs(cells).map(([state, n]) => glyph(state, n, paint)).join("");
      const right = status === undefined ? "" : `  ${" ".repeat(columns - shown)}${status(pod)}`;
      return `  ${paint.bold(pod.padEnd(indent.length - 2))}${bar}${right}`.trimEnd();
    });
    return [
      indent + paint.cyan(scenes.trimEnd()),
      indent + paint.dim(place(columns, seconds).trimEnd()),
      ...rows,
      indent + paint.dim(`${paint.green("█")} leader  · follower  ${paint.red("✗")} crashed  blank: not running  1 col = ${cell} ms`),
    ];
  }
}

/** One log line: `+3.012 s  pod-a  text`, coloured by tone. */
export const formatEntry = (entry: Entry, paint: Paint, whoWidth: number): string => {
  const time = paint.dim(`+${(entry.at / 1000).toFixed(3)} s`.padStart(9));
  if (entry.tone === "scene") return `${time}  ${paint.bold(paint.cyan(`── ${entry.text}`))}`;
  const tone = { leader: paint.green, crash: paint.red, result: paint.yellow, plain: (t: string) => t, quiet: paint.dim }[entry.tone];
  return `${time}  ${paint.bold(entry.who.padEnd(whoWidth))}  ${tone(entry.text)}`;
};

const glyph = (state: PodState | undefined, n: number, paint: Paint): string => {
  switch (state) {
    case "leader":
      return paint.green("█".repeat(n));
    case "follower":
      return paint.dim("·".repeat(n));
    case "crashed":
      return paint.red("✗".repeat(n));
    default:
      return " ".repeat(n);
  }
};

/** Consecutive equal values as [value, count], so each run is coloured with one escape code. */
const runs = <T>(values: readonly T[]): [T, number][] => {
  const out: [T, number][] = [];
  for (const value of values) {
    const last = out.at(-1);
    if (last !== undefined && last[0] === value) last[1]++;
    else out.push([value, 1]);
  }
  return out;
};

/** A line of `width` spaces with each label written from its column (later ones win). */
const place = (width: number, labels: readonly (readonly [number, string])[]): string => {
  const line = Array<string>(width).fill(" ");
  for (const [column, label] of labels) [...label].forEach((char, i) => column + i < width && (line[column + i] = char));
  return line.join("");
};
