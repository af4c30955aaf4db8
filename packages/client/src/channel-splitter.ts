/**
 * Interleaved multichannel audio in, one 16 kHz mono PCM16 array per channel out: what
 * `MultichannelClient.send()` hands each channel's stream.
 *
 * Input is PCM16 (Int16Array, PCM16LE bytes, or Float32Array −1..1) at any rate, or G.711 bytes
 * (`mulaw`, `alaw`; 8 kHz unless told otherwise), frame by frame: one sample (or byte) per
 * channel. A call may end inside a frame (or, for PCM16 bytes, inside a sample): the rest waits for
 * the next call. Rates other than 16 kHz go through the polyphase resampler of @earshot/audio, one
 * per channel, so any chunking of the same input gives the same samples.
 */
import { alawDecode, deinterleavePcm, floatToInt16, mulawDecode, Resampler, TARGET_SAMPLE_RATE } from "@earshot/audio";
import type { PcmInput } from "./pcm-input.js";
import { PcmInputReader } from "./pcm-input.js";

export type MultichannelInputEncoding = "pcm_s16le" | "mulaw" | "alaw";

export interface MultichannelInput {
  /** Default `pcm_s16le`. G.711 input is one byte per sample, channels interleaved byte by byte. */
  readonly encoding?: MultichannelInputEncoding;
  /** Default 16000 for `pcm_s16le`, 8000 for G.711. */
  readonly sampleRate?: number;
}

const EMPTY = new Int16Array(0);

export class ChannelSplitter {
  readonly channels: number;
  readonly encoding: MultichannelInputEncoding;
  readonly sampleRate: number;
  readonly #bytes = new PcmInputReader();
  readonly #resamplers: Resampler[] | undefined;
  /** The samples (or G.711 bytes) of a frame not complete yet. */
  #partial: Int16Array | Uint8Array = EMPTY;

  constructor(channels: number, input: MultichannelInput = {}) {
    if (!(Number.isInteger(channels) && channels >= 1)) {
      throw new RangeError(`channels must be a positive integer, got ${channels}.`);
    }
    this.channels = channels;
    this.encoding = input.encoding ?? "pcm_s16le";
    this.sampleRate = input.sampleRate ?? (this.encoding === "pcm_s16le" ? TARGET_SAMPLE_RATE : 8000);
    if (!(Number.isInteger(this.sampleRate) && this.sampleRate > 0)) {
      throw new RangeError(`sampleRate must be a positive integer, got ${this.sampleRate}.`);
    }
    this.#resamplers =
      this.sampleRate === TARGET_SAMPLE_RATE
        ? undefined
        : Array.from({ length: channels }, () => new Resampler({ inputRate: this.sampleRate }));
  }

  /** The complete frames of `input` (and of what an earlier call left), as 16 kHz PCM per channel. */
  push(input: PcmInput): Int16Array[] {
    if (this.encoding === "pcm_s16le") {
      const samples = input instanceof Float32Array ? floatToInt16(input) : this.#bytes.read(input);
      return this.#to16k(this.#frames(samples));
    }
    if (!(input instanceof Uint8Array)) {
      throw new TypeError(`${this.encoding} input must be bytes (Uint8Array), one per sample.`);
    }
    const decode = this.encoding === "mulaw" ? mulawDecode : alawDecode;
    return this.#to16k(this.#frames(input).map(decode));
  }

  /** End of the input: the resamplers' tails (a partial last frame is dropped). */
  flush(): Int16Array[] {
    this.#partial = EMPTY;
    return this.#resamplers?.map((r) => r.flush()) ?? [];
  }

  #frames<T extends Int16Array | Uint8Array>(input: T): T[] {
    let joined: T = input;
    if (this.#partial.length > 0) {
      joined = (
        input instanceof Int16Array
          ? new Int16Array(this.#partial.length + input.length)
          : new Uint8Array(this.#partial.length + input.length)
      ) as T;
      joined.set(this.#partial as T);
      joined.set(input, this.#partial.length);
    }
    const whole = joined.length - (joined.length % this.channels);
    // Copied: the caller may reuse its buffer.
    this.#partial = joined.slice(whole);
    return deinterleavePcm(joined.subarray(0, whole) as T, this.channels);
  }

  #to16k(channels: Int16Array[]): Int16Array[] {
    const resamplers = this.#resamplers;
    return resamplers === undefined ? channels : channels.map((c, i) => (resamplers[i] as Resampler).push(c));
  }
}
