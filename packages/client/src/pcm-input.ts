/**
 * What `send()` accepts, turned into PCM16 sample views: Int16Array as is; PCM16LE bytes viewed in
 * place when aligned (hosts are little-endian: x86-64, arm64, browsers in practice), with an odd
 * trailing byte carried to the next call; Float32Array (−1..1) converted.
 */
import { floatToInt16 } from "@earshot/audio";

export type PcmInput = Int16Array | Float32Array | Uint8Array;

export class PcmInputReader {
  #oddByte: number | undefined;

  read(input: PcmInput): Int16Array {
    if (input instanceof Int16Array) return input;
    if (input instanceof Float32Array) return floatToInt16(input);
    let bytes: Uint8Array = input;
    if (this.#oddByte !== undefined) {
      const joined = new Uint8Array(bytes.byteLength + 1);
      joined[0] = this.#oddByte;
      joined.set(bytes, 1);
      bytes = joined;
      this.#oddByte = undefined;
    }
    if (bytes.byteLength % 2 === 1) {
      this.#oddByte = bytes[bytes.byteLength - 1];
      bytes = bytes.subarray(0, bytes.byteLength - 1);
    }
    if (bytes.byteOffset % 2 === 1) bytes = bytes.slice();
    return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  }
}

/**
 * Interleaved samples in, whole frames out (one sample of each channel): a partial last frame
 * waits for the next call. One channel passes through untouched.
 */
export class WholeFrames {
  readonly #channels: number;
  #partial: Int16Array = new Int16Array(0);

  constructor(channels: number) {
    this.#channels = channels;
  }

  push(samples: Int16Array): Int16Array {
    if (this.#channels === 1) return samples;
    let joined = samples;
    if (this.#partial.length > 0) {
      joined = new Int16Array(this.#partial.length + samples.length);
      joined.set(this.#partial);
      joined.set(samples, this.#partial.length);
    }
    const whole = joined.length - (joined.length % this.#channels);
    // Copied: the caller may reuse its buffer.
    this.#partial = joined.slice(whole);
    return joined.subarray(0, whole);
  }
}

/** The bytes of PCM16 samples, as a view (what goes into a binary frame). */
export function pcmBytes(pcm: Int16Array): Uint8Array {
  return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

/** Two ASCII hex digits per byte, packed little-endian into one UTF-16 unit's worth of bytes. */
const HEX_PAIRS = Uint16Array.from({ length: 256 }, (_, byte) => {
  const digits = byte.toString(16).padStart(2, "0");
  return digits.charCodeAt(0) | (digits.charCodeAt(1) << 8);
});
const ascii = new TextDecoder("latin1");

/** Lowercase hex of a payload (the seed protocol's `audio_chunk.audio`), without per-byte strings. */
export function bytesToHex(bytes: Uint8Array): string {
  const out = new Uint16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = HEX_PAIRS[bytes[i] as number] as number;
  return ascii.decode(out);
}
