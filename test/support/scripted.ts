/**
 * Drives the pure protocol by hand: events in, and every request answered at once by a real
 * MemoryLeaseStore (or by an override), so tests can assert the exact sequence of API operations.
 */
import type { Outcome, Request } from "../../src/protocol/attempt.ts";
import type { Settings } from "../../src/config.ts";
import { isLockError } from "../../src/lock.ts";
import { type Command, type Event, initial, type State, step } from "../../src/protocol.ts";
import { MemoryLeaseStore, type MemoryVersion } from "../../adapters/memory.ts";
import { observedOf } from "../../adapters/memory/store.ts";

export const NAMESPACE = "foo";
export const NAME = "bar";

export const settingsOf = (overrides: Partial<Settings> = {}): Settings => ({
  identity: "baz",
  leaseDuration: 10_000,
  renewDeadline: 5_000,
  retryPeriod: 2_000,
  requestTimeout: 2_500,
  releaseOnCancel: false,
  rejoin: false,
  watch: false,
  ...overrides,
});

/** Answers a request, or returns undefined to let the store answer. */
export type Override = (request: Request, count: number) => Outcome | undefined;

export class Scripted {
  readonly store: MemoryLeaseStore = new MemoryLeaseStore();
  readonly settings: Settings;
  readonly ops: string[] = [];
  readonly commands: Command[] = [];
  state: State;
  mono = 0;
  override: Override | undefined;
  /** Requests are answered at once unless held; held ones wait in `pending`. */
  hold = false;
  pending: Extract<Command, { _tag: "Send" }>[] = [];

  constructor(settings: Settings, state: State = initial) {
    this.settings = settings;
    this.state = state;
  }

  /** Delivers an event at `mono` (defaults to the current time) with a jitter draw of 0. */
  send(event: Event, mono: number = this.mono, random = 0): void {
    this.mono = mono;
    const [state, commands] = step(this.settings, this.state, event, { mono, wall: Date.UTC(2026, 10, 23) + mono, random });
    this.state = state;
    this.commands.push(...commands);
    for (const command of commands) {
      if (command._tag !== "Send") continue;
      if (this.hold) this.pending.push(command);
      else this.answer(command);
    }
  }

  answer(command: Extract<Command, { _tag: "Send" }>): void {
    const outcome = this.override?.(command.request, this.ops.length) ?? this.serve(command.request);
    this.ops.push(outcome._tag === "ok" ? command.request.op : `${command.request.op}(${outcome.reason})`);
    this.send({ _tag: "Result", id: command.id, outcome });
  }

  /** Commands of one kind, in order. */
  emitted<T extends Command["_tag"]>(tag: T): Extract<Command, { _tag: T }>[] {
    return this.commands.filter((c): c is Extract<Command, { _tag: T }> => c._tag === tag);
  }

  serve(request: Request): Outcome {
    try {
      const lease = request.op === "get"
        ? this.store.get(NAMESPACE, NAME)
        : request.op === "create"
        ? this.store.create(NAMESPACE, NAME, request.record, {})
        : this.store.update(NAMESPACE, NAME, request.record, request.version as MemoryVersion, {});
      return { _tag: "ok", snapshot: observedOf(lease) };
    } catch (error) {
      if (!isLockError(error)) throw error;
      return { _tag: "error", reason: error.reason, message: error.message };
    }
  }
}
