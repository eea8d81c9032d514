/**
 * Keeps a watch on the lock open for the elector: resumes where it left off, starts over from
 * the current state when the server has forgotten that point (410 Expired), and backs off while
 * the watch fails, reporting that followers must poll meanwhile.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import { type Lock, type LockVersion, type Snapshot, reasonOf } from "./lock.ts";

export interface WatchHandlers {
  /** The object as it now is; `undefined` when it was deleted. */
  readonly changed: (snapshot: Snapshot | undefined) => void;
  /** Whether events are flowing, so that followers may wait for them instead of polling. */
  readonly health: (active: boolean) => void;
  /** A watch attempt failed (followers poll meanwhile). */
  readonly failed: (error: unknown) => void;
}

/** Longest pause between watch attempts; also how long a forbidden watch waits before trying again. */
export const MAX_WATCH_BACKOFF: number = 5 * 60_000;

/** Stops watching, for good. */
export interface Watching {
  (): void;
  /**
   * The stream may have died without knowing (a stuck proxy): unless it delivers something within
   * a retry period, drop it and open another from where it left off, reporting the watch
   * unhealthy until that one delivers something.
   */
  readonly check: () => void;
}

/** Watches from `from` until the returned function is called. */
export const keepWatching = (
  lock: Required<Pick<Lock, "watch">>,
  from: LockVersion,
  clock: Clock,
  retryPeriod: number,
  handlers: WatchHandlers,
): Watching => {
  const watcher = new Watcher(lock, clock, retryPeriod, handlers);
  void watcher.loop(from);
  return Object.assign(() => watcher.stop(), { check: () => watcher.check() });
};

/** A class rather than closures, as the elector (see there): an idle leader keeps one. */
class Watcher {
  readonly #lock: Required<Pick<Lock, "watch">>;
  readonly #clock: Clock;
  readonly #retryPeriod: number;
  readonly #handlers: WatchHandlers;
  #stopped = false;
  // Each stream has its own signal, so that one can be dropped without stopping.
  #stream: AbortController | undefined;
  // Cancels a pending check(): anything delivered proves the stream alive.
  #doubt: (() => void) | undefined;
  #active = false;
  // Found silent by check(): the stream that replaces it is trusted only once it delivers, since
  // whatever silenced the last one (a stuck proxy) may silence it too; followers poll meanwhile.
  #suspect = false;
  // Woken by stop() rather than by a listener on the signal: one listener per pause would pile up
  // on a follower whose watch keeps failing.
  #wake: (() => void) | undefined;

  constructor(lock: Required<Pick<Lock, "watch">>, clock: Clock, retryPeriod: number, handlers: WatchHandlers) {
    this.#lock = lock;
    this.#clock = clock;
    this.#retryPeriod = retryPeriod;
    this.#handlers = handlers;
  }

  stop(): void {
    this.#stopped = true;
    this.#stream?.abort();
    this.#wake?.();
    this.#trust();
  }

  check(): void {
    this.#doubt ??= this.#clock.setTimer(this.#clock.now() + this.#retryPeriod, () => {
      this.#doubt = undefined;
      this.#suspect = true;
      this.#setActive(false);
      this.#stream?.abort();
    });
  }

  async loop(from: LockVersion): Promise<void> {
    const clock = this.#clock;
    const handlers = this.#handlers;
    let position: LockVersion | undefined = from;
    let failures = 0;
    while (!this.#stopped) {
      const opened = clock.now();
      let events = 0;
      const signal = (this.#stream = new AbortController()).signal;
      try {
        const feed = await this.#lock.watch(position, signal);
        if (!this.#suspect) this.#setActive(true);
        for await (const event of feed) {
          if (signal.aborted) break;
          this.#trust();
          this.#suspect = false;
          this.#setActive(true);
          events++;
          failures = 0;
          if (event._tag === "changed") {
            position = event.snapshot.version;
            handlers.changed(event.snapshot);
          } else {
            position = event.version;
            if (event._tag === "deleted") handlers.changed(undefined);
          }
        }
        if (signal.aborted) continue; // it ended because we stopped (the loop ends) or restarted
        // The server closed the stream (its timeout): reopen at once, unless streams keep
        // ending straight away (a proxy cutting them), which counts as failing.
        failures = events === 0 && clock.now() - opened < 1000 ? failures + 1 : 0;
      } catch (error) {
        if (signal.aborted) continue;
        const reason = reasonOf(error);
        if (reason === "Expired" && position !== undefined) {
          position = undefined; // start over from the object as it is now
          continue;
        }
        failures++;
        handlers.failed(error);
        if (reason === "Forbidden") {
          this.#setActive(false);
          await this.#pause(MAX_WATCH_BACKOFF);
          continue;
        }
      }
      if (failures === 0) continue;
      this.#setActive(false);
      await this.#pause(Math.min(this.#retryPeriod * 2 ** (failures - 1), MAX_WATCH_BACKOFF));
    }
  }

  #trust(): void {
    this.#doubt?.();
    this.#doubt = undefined;
  }

  #setActive(value: boolean): void {
    if (value === this.#active || this.#stopped) return;
    this.#active = value;
    this.#handlers.health(value);
  }

  // Nothing is armed once stopped: a stream ending, or onError throwing, because we stopped must
  // not leave a timer behind that keeps the process alive.
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stopped) return resolve();
      const cancel = this.#clock.setTimer(this.#clock.now() + ms, resolve);
      this.#wake = () => (cancel(), resolve());
    });
  }
}
