/**
 * A stream of events handed out as an AsyncIterable: pushed in order, read at the reader's pace,
 * ended or failed once. One per lease subscribed to the shared watch.
 *
 * @module
 */
export class Feed<T> implements AsyncIterable<T> {
  /** Called once when the feed ends or fails, to let go of what kept it open. */
  ended: () => void = () => {};
  readonly #queue: T[] = [];
  #waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  #closed: { readonly error: unknown } | undefined;

  push(value: T): void {
    if (this.#closed !== undefined) return;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting !== undefined) waiting.resolve({ value, done: false });
    else this.#queue.push(value);
  }

  end(): void {
    this.#close({ error: undefined });
  }

  fail(error: unknown): void {
    this.#close({ error });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#queue.length > 0) return Promise.resolve({ value: this.#queue.shift() as T, done: false });
        if (this.#closed !== undefined) {
          return this.#closed.error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.#closed.error);
        }
        return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  #close(closed: { readonly error: unknown }): void {
    if (this.#closed !== undefined) return;
    this.#closed = closed;
    this.ended();
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting === undefined) return;
    if (closed.error === undefined) waiting.resolve({ value: undefined, done: true });
    else waiting.reject(closed.error);
  }
}
