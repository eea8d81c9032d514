/** Counts the listeners added to and removed from one signal, by wrapping that instance's methods. */
export interface ListenerCount {
  /** Listeners ever added. */
  readonly added: number;
  /** Added and not removed (listeners that fired with `once` still count). */
  readonly live: number;
}

export const countListeners = (signal: AbortSignal): ListenerCount => {
  const count = { added: 0, live: 0 };
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<AbortSignal["addEventListener"]>) => {
    count.added++;
    count.live++;
    add(...args);
  }) as AbortSignal["addEventListener"];
  signal.removeEventListener = ((...args: Parameters<AbortSignal["removeEventListener"]>) => {
    count.live--;
    remove(...args);
  }) as AbortSignal["removeEventListener"];
  return count;
};
