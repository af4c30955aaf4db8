/**
 * WAV as a byte stream, the way recorders and decoders write it to a pipe (`arecord -t wav`,
 * `sox … -t wav -`, `ffmpeg … -f wav -`): the header, then frames for as long as the stream lasts.
 *
 * Capture tools are asked for WAV rather than raw PCM because the header states the format the
 * device really delivered (a recorder given a rate the hardware lacks takes the nearest one), so the
 * conversion to 16 kHz never trusts a guess. The data chunk's size is ignored: a writer on a pipe
 * cannot know it (arecord writes 0x7fffffff, ffmpeg 0xffffffff, sox a guess), and nothing follows
 * the data in a stream.
 */
import { AudioFormatError } from "./errors.js";
import { Resampler } from "./resample.js";
import { decodeChannels, encodingOf, type FmtChunk, fourCC, parseFmt, type WavEncoding } from "./wav.js";

export interface WavStreamInfo {
  readonly sampleRate: number;
  readonly channels: number;
  readonly encoding: WavEncoding;
  readonly bitsPerSample: number;
}

/** Headers longer than this are not a WAV stream (chunks before `data` are a few hundred bytes). */
const MAX_HEADER_BYTES = 1 << 20;

export class WavStreamReader {
  #fmt: FmtChunk | undefined;
  #info: WavStreamInfo | undefined;
  /** Header bytes not yet parsed, or the partial frame left from the last push. */
  #pending = new Uint8Array(0);
  #inData = false;
  /** Where the next chunk header starts in `#pending`, while parsing the header. */
  #offset = 12;

  /** The stream's format, once the header up to the `data` chunk has arrived. */
  get info(): WavStreamInfo | undefined {
    return this.#info;
  }

  /**
   * The whole frames now available, one array per channel (Int16Array for formats up to 16 bits,
   * Float32Array for wider ones); none while the header is still arriving. Throws
   * AudioFormatError when the bytes are not a WAV stream we decode.
   */
  push(bytes: Uint8Array): (Int16Array | Float32Array)[] {
    const joined = this.#pending.length === 0 ? bytes : concat(this.#pending, bytes);
    if (!this.#inData) {
      const dataStart = this.#parseHeader(joined);
      if (dataStart === undefined) {
        this.#pending = joined.slice();
        return [];
      }
      return this.#frames(joined.subarray(dataStart));
    }
    return this.#frames(joined);
  }

  /** End of the stream: throws AudioFormatError when it ended before any audio data. */
  end(): void {
    if (!this.#inData) {
      throw new AudioFormatError("invalid_wav", "The WAV stream ended before its data chunk.");
    }
    this.#pending = new Uint8Array(0);
  }

  #frames(bytes: Uint8Array): (Int16Array | Float32Array)[] {
    const fmt = this.#fmt as FmtChunk;
    const whole = bytes.byteLength - (bytes.byteLength % fmt.blockAlign);
    // Copied: `bytes` may be a buffer the caller reuses.
    this.#pending = bytes.slice(whole);
    if (whole === 0) return [];
    return decodeChannels(fmt, bytes.subarray(0, whole));
  }

  /** Returns where the audio starts in `bytes`, or undefined when more header bytes are needed. */
  #parseHeader(bytes: Uint8Array): number | undefined {
    if (bytes.byteLength < 12) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (fourCC(view, 0) !== "RIFF" || fourCC(view, 8) !== "WAVE") {
      throw new AudioFormatError("invalid_wav", "Not a WAV stream: missing the RIFF/WAVE header.");
    }
    while (this.#offset + 8 <= bytes.byteLength) {
      const id = fourCC(view, this.#offset);
      const size = view.getUint32(this.#offset + 4, true);
      const body = this.#offset + 8;
      if (id === "data") {
        if (!this.#fmt) throw new AudioFormatError("invalid_wav", "Invalid WAV: the data chunk comes before fmt.");
        this.#inData = true;
        this.#info = {
          sampleRate: this.#fmt.sampleRate,
          channels: this.#fmt.channels,
          encoding: encodingOf(this.#fmt.formatTag),
          bitsPerSample: this.#fmt.bitsPerSample,
        };
        return body;
      }
      if (body + size > MAX_HEADER_BYTES) {
        throw new AudioFormatError(
          "invalid_wav",
          `Invalid WAV stream: no data chunk in the first ${MAX_HEADER_BYTES} bytes.`,
        );
      }
      if (body + size + (size % 2) > bytes.byteLength) return undefined;
      if (id === "fmt ") this.#fmt = parseFmt(view, body, size);
      this.#offset = body + size + (size % 2);
    }
    return undefined;
  }
}

/**
 * A WAV byte stream in, 16 kHz mono PCM16 out, chunk by chunk: WavStreamReader into the polyphase
 * Resampler (resample.ts), so any chunking of the same bytes gives the same samples as the whole.
 */
export class WavStreamTo16k {
  readonly #reader = new WavStreamReader();
  #resampler: Resampler | undefined;

  get info(): WavStreamInfo | undefined {
    return this.#reader.info;
  }

  push(bytes: Uint8Array): Int16Array {
    const channels = this.#reader.push(bytes);
    if (channels.length === 0) return EMPTY;
    this.#resampler ??= new Resampler({ inputRate: (this.#reader.info as WavStreamInfo).sampleRate });
    return this.#resampler.push(channels);
  }

  /** End of the stream: the resampler's tail. Throws AudioFormatError when no audio ever came. */
  end(): Int16Array {
    this.#reader.end();
    return this.#resampler?.flush() ?? EMPTY;
  }
}

const EMPTY = new Int16Array(0);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
