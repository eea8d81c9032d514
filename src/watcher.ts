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
  let stopped = false;
  // Each stream has its own signal, so that one can be dropped without stopping.
  let stream: AbortController | undefined;
  // Cancels a pending check(): anything delivered proves the stream alive.
  let doubt: (() => void) | undefined;
  const trust = (): void => (doubt?.(), doubt = undefined);
  let active = false;
  // Found silent by check(): the stream that replaces it is trusted only once it delivers, since
  // whatever silenced the last one (a stuck proxy) may silence it too; followers poll meanwhile.
  let suspect = false;
  const setActive = (value: boolean): void => {
    if (value === active || stopped) return;
    active = value;
    handlers.health(value);
  };
  // Woken by stop() rather than by a listener on the signal: one listener per pause would pile up
  // on a follower whose watch keeps failing.
  let wake: (() => void) | undefined;
  // Nothing is armed once stopped: a stream ending, or onError throwing, because we stopped must
  // not leave a timer behind that keeps the process alive.
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (stopped) return resolve();
      const cancel = clock.setTimer(clock.now() + ms, resolve);
      wake = () => (cancel(), resolve());
    });

  const loop = async (): Promise<void> => {
    let position: LockVersion | undefined = from;
    let failures = 0;
    while (!stopped) {
      const opened = clock.now();
      let events = 0;
      const own = (stream = new AbortController());
      try {
        const feed = await lock.watch(position, own.signal);
        if (!suspect) setActive(true);
        for await (const event of feed) {
          if (own.signal.aborted) break;
          trust();
          suspect = false;
          setActive(true);
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
        if (own.signal.aborted) continue; // it ended because we stopped (the loop ends) or restarted
        // The server closed the stream (its timeout): reopen at once, unless streams keep
        // ending straight away (a proxy cutting them), which counts as failing.
        failures = events === 0 && clock.now() - opened < 1000 ? failures + 1 : 0;
      } catch (error) {
        if (own.signal.aborted) continue;
        const reason = reasonOf(error);
        if (reason === "Expired" && position !== undefined) {
          position = undefined; // start over from the object as it is now
          continue;
        }
        failures++;
        handlers.failed(error);
        if (reason === "Forbidden") {
          setActive(false);
          await pause(MAX_WATCH_BACKOFF);
          continue;
        }
      }
      if (failures === 0) continue;
      setActive(false);
      await pause(Math.min(retryPeriod * 2 ** (failures - 1), MAX_WATCH_BACKOFF));
    }
  };
  void loop();
  return Object.assign(
    () => {
      stopped = true;
      stream?.abort();
      wake?.();
      trust();
    },
    {
      check: () => {
        doubt ??= clock.setTimer(clock.now() + retryPeriod, () => {
          doubt = undefined;
          suspect = true;
          setActive(false);
          stream?.abort();
        });
      },
    },
  );
};
