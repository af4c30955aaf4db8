/**
 * The warm decoders of one decoding process, lent to streams per utterance. `ps_init` costs about a
 * quarter of a second of CPU and 95 MB for the en-us model, so decoders are made ahead of demand:
 * `min` at start-up (before the process says it is ready), more in the background (on the decoder
 * maker's thread) whenever fewer than `lowWater` are free or streams wait, up to `max`. A stream
 * borrows one when its speech starts and gives it back after its final; one that finds none free
 * waits in line (its audio stays queued) and gets the next one given back or made. Decoders idle
 * for `idleMs` beyond the `min` are freed.
 *
 * Generic over the decoder so the pool's rules are tested without the native library.
 */

export interface DecoderPoolOptions<D> {
  /** Makes one decoder where it stalls no decoding (the maker thread). */
  readonly make: () => Promise<D>;
  readonly destroy: (decoder: D) => void;
  /** Decoders made at start-up and kept however idle. */
  readonly min: number;
  /** At most this many exist; streams beyond them wait for one given back. */
  readonly max: number;
  /** A free decoder beyond `min` idle this long is freed by `shrink`. */
  readonly idleMs: number;
  /** Grow once fewer than this many are free (default 1). */
  readonly lowWater?: number;
  readonly now?: () => number;
  /** Told after every change of the counts (for metrics). */
  readonly onChange?: () => void;
}

export interface DecoderPoolStats {
  /** Decoders that exist: free plus lent. */
  readonly size: number;
  readonly free: number;
  readonly lent: number;
  /** Being made now. */
  readonly making: number;
  /** Streams waiting in line for a decoder. */
  readonly waiting: number;
  /** Made at start-up, and later in the background. */
  readonly created: { readonly startup: number; readonly background: number };
  /** Freed by `shrink` (idle) or discarded (failed). */
  readonly destroyed: number;
  /** Borrows that found no decoder free and waited. */
  readonly waits: number;
  /** Background makes that failed. */
  readonly failures: number;
}

interface Waiter<D> {
  readonly take: (decoder: D) => void;
  readonly fail: (error: Error) => void;
}

interface Free<D> {
  readonly decoder: D;
  readonly since: number;
}

export class DecoderPool<D> {
  readonly #options: DecoderPoolOptions<D>;
  readonly #now: () => number;
  /** Free decoders, the most recently given back last (borrowed first: its caches are warm). */
  readonly #free: Free<D>[] = [];
  readonly #waiters: Array<Waiter<D>> = [];
  #size = 0;
  #making = 0;
  #startup = 0;
  #background = 0;
  #destroyed = 0;
  #waits = 0;
  #failures = 0;
  #closed = false;

  constructor(options: DecoderPoolOptions<D>) {
    this.#options = { ...options, min: Math.max(0, options.min), max: Math.max(1, options.max, options.min) };
    this.#now = options.now ?? (() => performance.now());
  }

  get stats(): DecoderPoolStats {
    return {
      size: this.#size,
      free: this.#free.length,
      lent: this.#size - this.#free.length,
      making: this.#making,
      waiting: this.#waiters.length,
      created: { startup: this.#startup, background: this.#background },
      destroyed: this.#destroyed,
      waits: this.#waits,
      failures: this.#failures,
    };
  }

  /** Make the `min` decoders; rejects with the first failure (the process cannot serve). */
  async start(): Promise<void> {
    for (let i = this.#size; i < this.#options.min; i++) {
      const decoder = await this.#options.make();
      this.#startup++;
      this.#size++;
      this.#free.push({ decoder, since: this.#now() });
      this.#changed();
    }
  }

  /** A free decoder to look at, still free (not lent; nothing grows). */
  peek(): D | undefined {
    return this.#free.at(-1)?.decoder;
  }

  /** A free decoder, or undefined (then `wait`). Grows in the background when few are left. */
  borrow(): D | undefined {
    const free = this.#free.pop();
    this.#grow();
    if (free) this.#changed();
    return free?.decoder;
  }

  /**
   * Wait in line for a decoder: `take` gets the next one given back or made; `fail` is called when
   * none can come (making failed and none is lent). Returns a cancel function (the stream closed).
   */
  wait(take: (decoder: D) => void, fail: (error: Error) => void): () => void {
    this.#waits++;
    const waiter = { take, fail };
    this.#waiters.push(waiter);
    this.#grow();
    this.#changed();
    return () => {
      const index = this.#waiters.indexOf(waiter);
      if (index >= 0) {
        this.#waiters.splice(index, 1);
        this.#changed();
      }
    };
  }

  /** A borrowed decoder comes back, ready for any stream: the first in line gets it. */
  giveBack(decoder: D): void {
    if (this.#closed) {
      this.#destroy(decoder);
      return;
    }
    const next = this.#waiters.shift();
    if (next) next.take(decoder);
    else this.#free.push({ decoder, since: this.#now() });
    this.#changed();
  }

  /** A borrowed decoder whose state is unknown (it threw): freed, and replaced if needed. */
  discard(decoder: D): void {
    this.#destroy(decoder);
    this.#grow();
    this.#changed();
  }

  /** Free the decoders beyond `min` that have been idle `idleMs`; returns how many. */
  shrink(): number {
    const cutoff = this.#now() - this.#options.idleMs;
    let freed = 0;
    // The longest idle are at the front.
    while (this.#size > this.#options.min && this.#free.length > 0 && (this.#free[0]?.since ?? 0) <= cutoff) {
      const [oldest] = this.#free.splice(0, 1);
      if (oldest) this.#destroy(oldest.decoder);
      freed++;
    }
    if (freed > 0) this.#changed();
    return freed;
  }

  /** Free every free decoder; decoders still lent are freed when given back. Waiters are dropped. */
  close(): void {
    this.#closed = true;
    this.#waiters.length = 0;
    for (const { decoder } of this.#free.splice(0)) this.#destroy(decoder);
  }

  #destroy(decoder: D): void {
    this.#size--;
    this.#destroyed++;
    this.#options.destroy(decoder);
  }

  /** Make one more while fewer than `lowWater` (plus those waiting) are free or coming, below `max`. */
  #grow(): void {
    const lowWater = this.#options.lowWater ?? 1;
    while (
      !this.#closed &&
      this.#free.length + this.#making < lowWater + this.#waiters.length &&
      this.#size + this.#making < this.#options.max
    ) {
      this.#making++;
      this.#options.make().then(
        (decoder) => {
          this.#making--;
          this.#background++;
          this.#size++;
          this.giveBack(decoder);
        },
        (error: unknown) => {
          this.#making--;
          this.#failures++;
          // Nothing lent will come back and nothing else is being made: the waiters would wait forever.
          if (this.#size === 0 && this.#making === 0) {
            const reason = error instanceof Error ? error : new Error(String(error));
            for (const waiter of this.#waiters.splice(0)) waiter.fail(reason);
          }
          this.#changed();
        },
      );
    }
  }

  #changed(): void {
    this.#options.onChange?.();
  }
}
