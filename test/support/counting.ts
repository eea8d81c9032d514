/**
 * Counts what an elector leaves running: timers on its clock, requests and watch reads on its
 * lock that have not settled, and listeners on signals that can still fire.
 */
import type { Clock } from "../../src/clock.ts";
import type { Lock, LockEvent } from "../../src/lock.ts";
import { countListeners, type ListenerCount } from "./listeners.ts";

export interface Leftovers {
  readonly timers: number;
  readonly pending: number;
  /** Listeners added and not removed, on signals that have not aborted (an aborted one never fires again). */
  readonly listeners: number;
}

export interface Counting {
  readonly clock: Clock;
  readonly lock: (lock: Lock) => Lock;
  /** Counts the listeners on a signal of your own (such as the one given to `run`). */
  readonly watchSignal: (signal: AbortSignal) => void;
  readonly leftovers: () => Leftovers;
}

export const counting = (base: Clock): Counting => {
  let timers = 0;
  let pending = 0;
  const signals: { signal: AbortSignal; count: ListenerCount }[] = [];
  const watchSignal = (signal: AbortSignal): void => {
    if (!signals.some((s) => s.signal === signal)) signals.push({ signal, count: countListeners(signal) });
  };
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending++;
    return promise.finally(() => pending--);
  };
  const clock: Clock = {
    now: () => base.now(),
    wall: () => base.wall(),
    setTimer: (at, fn) => {
      timers++;
      let live = true;
      const cancel = base.setTimer(at, () => {
        if (!live) return;
        live = false;
        timers--;
        fn();
      });
      return () => {
        if (live) (live = false, timers--, cancel());
      };
    },
  };
  const stream = (events: AsyncIterable<LockEvent>): AsyncIterable<LockEvent> => ({
    [Symbol.asyncIterator]: () => {
      const inner = events[Symbol.asyncIterator]();
      return {
        next: () => track(inner.next()),
        return: () => (inner.return ? track(inner.return()) : Promise.resolve({ value: undefined, done: true })),
      };
    },
  });
  const lock = (inner: Lock): Lock => {
    const wrapped: Lock = {
      description: inner.description,
      get: (signal) => (watchSignal(signal), track(inner.get(signal))),
      create: (record, signal) => (watchSignal(signal), track(inner.create(record, signal))),
      update: (record, version, signal) => (watchSignal(signal), track(inner.update(record, version, signal))),
    };
    const watch = inner.watch?.bind(inner);
    if (watch === undefined) return wrapped;
    return { ...wrapped, watch: async (version, signal) => (watchSignal(signal), stream(await track(watch(version, signal)))) };
  };
  return {
    clock,
    lock,
    watchSignal,
    leftovers: () => ({
      timers,
      pending,
      listeners: signals.reduce((sum, { signal, count }) => sum + (signal.aborted ? 0 : count.live), 0),
    }),
  };
};
