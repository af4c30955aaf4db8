/**
 * A single-consumer async queue of engine events. Producers are the engine itself, whose event rate
 * is bounded by the audio rate (a few events per second of audio), so the queue needs no cap of
 * its own: the audio buffers upstream are the bounded ones.
 */
export class EventChannel<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #waiter: ((result: IteratorResult<T>) => void) | undefined;
  #ended = false;

  get ended(): boolean {
    return this.#ended;
  }

  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  /** No more items; a consumer drains what is queued, then stops. */
  end(): void {
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /** End and drop what is queued. */
  clear(): void {
    this.#items.length = 0;
    this.end();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.#items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.#waiter = resolve;
        });
      },
      return: () => {
        this.clear();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
