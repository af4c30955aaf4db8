/**
 * The decoders of one decoding process. `ps_init` costs about half a second and 100+ MB for the en-us
 * model, so decoders outlive their streams: a closed stream's decoder waits, idle, for the next
 * stream (which resets it with `Decoder.startStream`). At most `maxIdle` wait; the rest are freed.
 */

import { Decoder, type DecoderArgs, type LibraryPaths } from "./binding.js";

export class DecoderPool {
  readonly #args: DecoderArgs;
  readonly #paths: LibraryPaths;
  readonly #maxIdle: number;
  readonly #idle: Decoder[] = [];

  constructor(args: DecoderArgs, paths: LibraryPaths, maxIdle: number) {
    this.#args = args;
    this.#paths = paths;
    this.#maxIdle = Math.max(1, maxIdle);
  }

  get idleCount(): number {
    return this.#idle.length;
  }

  /** Create one idle decoder ahead of demand; throws what `ps_init` threw. */
  warm(): void {
    this.#idle.push(new Decoder(this.#args, this.#paths));
  }

  acquire(): Decoder {
    return this.#idle.pop() ?? new Decoder(this.#args, this.#paths);
  }

  /** Free the idle decoders; the pool stays usable. */
  free(): void {
    for (const decoder of this.#idle.splice(0)) decoder.free();
  }

  release(decoder: Decoder): void {
    if (this.#idle.length < this.#maxIdle) this.#idle.push(decoder);
    else decoder.free();
  }
}
