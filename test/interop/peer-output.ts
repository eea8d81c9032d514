/**
 * What a peer program prints, shared by tenure-peer.ts and the chaos suite's peer: JSON lines on
 * stdout, timed on the harness's clock (see below), written in order so that exit waits for them.
 *
 * @module
 */
import { createInterface } from "node:readline";

let pending: Promise<void> = Promise.resolve();

export const write = (stream: NodeJS.WriteStream, text: string): void => {
  // Chained so that exit waits for every line (stdout on a pipe may be asynchronous off Linux).
  pending = pending.then(() => new Promise<void>((resolve) => void stream.write(text, () => resolve())));
};

export const exit = async (code: number): Promise<never> => {
  await pending;
  process.exit(code);
};

// -------------------------------------------------------------------------------------
// the clock
// -------------------------------------------------------------------------------------

/**
 * The clock of mono_ns. The harness judges handovers between processes by their times, so they
 * must all be on one clock: CLOCK_MONOTONIC, which the Go peer reads with clock_gettime and the
 * harness (on Node) with process.hrtime. Node's process.hrtime is libuv's uv_hrtime, i.e.
 * CLOCK_MONOTONIC on Linux. Deno's and Bun's are not: they count from their own process start
 * (they run at CLOCK_MONOTONIC's rate, from another zero), and these runtimes have no other way to
 * read CLOCK_MONOTONIC.
 *
 * So with --clock-sync (the harness passes it to every tenure peer) this process measures the
 * offset from its own clock to the harness's, NTP-style over the pipes it already has: it notes its
 * time t0, prints `{"event":"clock_probe","seq":n}`, and the harness answers `n h` on stdin, h being
 * its CLOCK_MONOTONIC when it read the probe; at the answer this process notes t1. The harness read
 * the probe after t0 and answered before t1, so the offset lies in [h − t1, h − t0], however slow
 * either side was. Every probe's interval holds it, so their intersection does too, and it narrows
 * to about 0.1 ms within a few probes; its midpoint is the offset and half its width the error,
 * printed in the ready line as clock_error_ns (the checker allows for it, see checker.ts).
 *
 * Why not the alternatives:
 * - the harness's clock at spawn plus this process's time since its start: the start is some
 *   unknown time after the spawn (exec, runtime start-up; milliseconds, more on a busy machine),
 *   which would shift every time of this process early by an amount nobody knows;
 * - wall time (CLOCK_REALTIME) for every process: JavaScript reads it only to the millisecond
 *   (Date.now) or as the start-up's wall time plus monotonic time since (performance.timeOrigin,
 *   measured about 1 ms off on Deno and Bun here), and it jumps when the clock is set, which
 *   CLOCK_MONOTONIC never does; either error would be unknown to the checker.
 * The probes need no assumption but that both clocks run at the same rate (they are both
 * CLOCK_MONOTONIC underneath), give a bound the checker can use, and cost a few milliseconds.
 *
 * On Node the probes only confirm that the offset is 0 (its interval holds 0): mono_ns stays
 * CLOCK_MONOTONIC as read. Were it not so, the offset is used and the clock is "synced".
 */
interface ClockState {
  readonly name: "monotonic" | "synced" | "process";
  /** Added to process.hrtime.bigint(): CLOCK_MONOTONIC − own clock. */
  readonly offset: bigint;
  /** For "synced": how far mono_ns may be from CLOCK_MONOTONIC, in ns. */
  readonly error?: bigint;
}

/** Deno and Bun count process.hrtime from their own start (see above). */
const OWN_CLOCK: ClockState["name"] = "Deno" in globalThis || "Bun" in globalThis ? "process" : "monotonic";
let clock: ClockState = { name: OWN_CLOCK, offset: 0n };

/** At most this many probes; done early once the interval is this narrow. */
const PROBES = 32;
const NARROW_NS = 200_000n;

/** --clock-sync: the offset from this process's clock to the harness's, by probes (see above). */
export const syncClock = async (identity: string): Promise<string | undefined> => {
  const synced = await probe(identity);
  if (typeof synced === "string") return synced;
  clock = synced;
  return undefined;
};

/** For the ready line: the offset and error of a synced clock. */
export const clockInfo = (): Record<string, bigint> =>
  clock.error === undefined ? {} : { clock_offset_ns: clock.offset, clock_error_ns: clock.error };

const probe = async (identity: string): Promise<ClockState | string> => {
  const answers = new Map<number, (harness: bigint) => void>();
  const input = createInterface({ input: process.stdin });
  input.on("line", (line) => {
    const match = /^(\d+) (\d+)$/.exec(line.trim());
    if (match !== null) answers.get(Number(match[1]))?.(BigInt(match[2] as string));
  });
  try {
    let low: bigint | undefined;
    let high: bigint | undefined;
    for (let seq = 0; seq < PROBES; seq++) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const answer = new Promise<bigint | undefined>((resolve) => {
        answers.set(seq, resolve);
        timer = setTimeout(() => resolve(undefined), 5_000);
      });
      const t0 = process.hrtime.bigint();
      write(process.stdout, `{"event":"clock_probe","identity":${JSON.stringify(identity)},"seq":${seq}}\n`);
      const harness = await answer;
      const t1 = process.hrtime.bigint();
      clearTimeout(timer);
      answers.delete(seq);
      if (harness === undefined) return `--clock-sync: no answer on stdin to clock probe ${seq} within 5 s`;
      low = low === undefined || harness - t1 > low ? harness - t1 : low;
      high = high === undefined || harness - t0 < high ? harness - t0 : high;
      if (low > high) return `--clock-sync: the probes disagree (offset both ≥ ${low} and ≤ ${high} ns): the clocks do not run at one rate`;
      if (seq >= 2 && high - low <= NARROW_NS) break;
    }
    const [lo, hi] = [low as bigint, high as bigint];
    if (lo <= 0n && hi >= 0n) return { name: "monotonic", offset: 0n };
    return { name: "synced", offset: (lo + hi) / 2n, error: (hi - lo + 1n) / 2n };
  } finally {
    input.close();
    process.stdin.pause();
  }
};

/**
 * One JSON line; mono_ns is written from the bigint itself, because a JSON number beyond 2^53
 * (about 104 days of uptime in nanoseconds) would lose digits through Number.
 */
export const emit = (event: string, identity: string, extra: Readonly<Record<string, string | number | bigint>> = {}): void => {
  const mono = process.hrtime.bigint() + clock.offset;
  const wall = new Date().toISOString();
  const fields = [`"event":${JSON.stringify(event)}`, `"identity":${JSON.stringify(identity)}`];
  for (const [key, value] of Object.entries(extra)) fields.push(`${JSON.stringify(key)}:${typeof value === "bigint" ? value.toString() : JSON.stringify(value)}`);
  fields.push(`"clock":"${clock.name}"`, `"mono_ns":${mono.toString()}`, `"wall":${JSON.stringify(wall)}`);
  write(process.stdout, `{${fields.join(",")}}\n`);
};

