/**
 * The pure protocol driven by hand, with synthetic outcomes: how many `step()` calls per second it
 * takes through a leader's renew cycles and through a candidate's polls of someone else's lease.
 */
import * as E from "fp-ts/lib/Either.js";
import {
  type Command,
  type Event,
  formatMicroTime,
  initial,
  type LeaderElectionRecord,
  type Lock,
  type Now,
  nextWake,
  type Outcome,
  parseSettings,
  type Request,
  type Settings,
  type State,
  step,
} from "../../src/index.ts";

const WALL0 = Date.UTC(2026, 10, 23, 18, 0, 0);

/** parseSettings wants a lock-shaped object; the pure protocol never calls it. */
const unusedLock: Lock = {
  description: "bench/lease",
  get: () => Promise.reject(new Error("unused")),
  create: () => Promise.reject(new Error("unused")),
  update: () => Promise.reject(new Error("unused")),
};

export const settingsFor = (identity: string): Settings => {
  const parsed = parseSettings({ lock: unusedLock, identity, onStartedLeading: () => {}, onStoppedLeading: () => {} });
  if (E.isLeft(parsed)) throw parsed.left;
  return parsed.right;
};

export interface CycleResult {
  readonly steps: number;
  readonly cycles: number;
  readonly seconds: number;
  readonly stepsPerSecond: number;
}

/** One simulated run: feeds events, tracks time, and counts steps. */
class Run {
  readonly settings: Settings;
  state: State = initial;
  mono = 0;
  steps = 0;
  #version = 100;

  constructor(settings: Settings) {
    this.settings = settings;
  }

  now(): Now {
    return { mono: this.mono, wall: WALL0 + this.mono, random: 0.5 };
  }

  feed(event: Event): readonly Command[] {
    const [state, commands] = step(this.settings, this.state, event, this.now());
    this.state = state;
    this.steps++;
    return commands;
  }

  /** The Send among `commands`; the cycle is broken if there is none. */
  sent(commands: readonly Command[]): { readonly id: number; readonly request: Request } {
    for (const command of commands) if (command._tag === "Send") return command;
    throw new Error(`expected a request in phase ${this.state.phase._tag}, got ${commands.map((c) => c._tag).join(", ")}`);
  }

  ok(record: LeaderElectionRecord): Outcome {
    return { _tag: "ok", snapshot: { record, version: { resourceVersion: String(++this.#version) } } };
  }

  phase(): State["phase"]["_tag"] {
    return this.state.phase._tag;
  }

  wake(): readonly Command[] {
    const at = nextWake(this.state);
    if (at === undefined) throw new Error(`no wake-up in phase ${this.state.phase._tag}`);
    this.mono = Math.max(this.mono, at);
    return this.feed({ _tag: "Wake" });
  }
}

const timed = (seconds: number, run: Run, cycle: () => void): CycleResult => {
  const start = performance.now();
  const end = start + seconds * 1000;
  const steps0 = run.steps;
  let cycles = 0;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 1024; i++) cycle();
    cycles += 1024;
    now = performance.now();
  }
  const elapsed = (now - start) / 1000;
  const steps = run.steps - steps0;
  return { steps, cycles, seconds: elapsed, stepsPerSecond: steps / elapsed };
};

/** A leader renewing: Wake -> Send(update, fast path) -> Result(ok), 2 steps per renew. */
export const leaderCycles = (seconds: number): CycleResult => {
  const run = new Run(settingsFor("bench-leader"));
  const get = run.sent(run.feed({ _tag: "Start" }));
  const create = run.sent(run.feed({ _tag: "Result", id: get.id, outcome: { _tag: "error", reason: "NotFound", message: "not found" } }));
  if (create.request.op !== "create") throw new Error(`expected create, got ${create.request.op}`);
  run.feed({ _tag: "Result", id: create.id, outcome: run.ok(create.request.record) });
  if (run.phase() !== "leader") throw new Error(`expected to lead, in phase ${run.phase()}`);

  const result = timed(seconds, run, () => {
    const renew = run.sent(run.wake());
    if (renew.request.op !== "update") throw new Error(`expected a fast-path update, got ${renew.request.op}`);
    run.mono += 1; // the request takes a millisecond
    run.feed({ _tag: "Result", id: renew.id, outcome: run.ok(renew.request.record) });
  });
  if (run.phase() !== "leader") throw new Error(`stopped leading: ${run.phase()}`);
  return result;
};

/** A candidate polling a lease someone else keeps renewing: Wake -> Send(get) -> Result(held), 2 steps per poll. */
export const candidateCycles = (seconds: number): CycleResult => {
  const run = new Run(settingsFor("bench-candidate"));
  // Someone else's renewals (each a different renewTime), made up front so that the cycle
  // measures the protocol and not our record formatting.
  const pool: LeaderElectionRecord[] = Array.from({ length: 64 }, (_, i) => ({
    holderIdentity: "someone-else",
    leaseDurationSeconds: 15,
    acquireTime: formatMicroTime(WALL0),
    renewTime: formatMicroTime(WALL0 + i * 2_000),
    leaseTransitions: 3,
    strategy: "",
    preferredHolder: "",
  }));
  let next = 0;
  const first = run.sent(run.feed({ _tag: "Start" }));
  run.feed({ _tag: "Result", id: first.id, outcome: run.ok(pool[next++ % pool.length] as LeaderElectionRecord) });

  const result = timed(seconds, run, () => {
    const get = run.sent(run.wake());
    if (get.request.op !== "get") throw new Error(`expected a get, got ${get.request.op}`);
    run.mono += 1;
    run.feed({ _tag: "Result", id: get.id, outcome: run.ok(pool[next++ % pool.length] as LeaderElectionRecord) });
  });
  if (run.phase() !== "candidate") throw new Error(`expected to stay a candidate, in phase ${run.phase()}`);
  return result;
};
