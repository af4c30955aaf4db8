/**
 * WAV as a byte stream, the way recorders and decoders write it to a pipe (`arecord -t wav`,
 * `sox … -t wav -`, `ffmpeg … -f wav -`): the header, then frames for as long as the stream lasts.
 *
 * Capture tools are asked for WAV rather than raw PCM because the header states the format the
 * device really delivered (a recorder given a rate the hardware lacks takes the nearest one), so the
 * conversion to 16 kHz never trusts a guess.
 *
 * The data chunk's size is a hint: a writer on a pipe cannot know it (ffmpeg writes 0xffffffff,
 * arecord 0x7fffffff, sox a guess). Where it ends, a new RIFF/WAVE header may follow, and is read
 * as such: arecord starts a new "file" in the same stream every 2 GiB (about 6 hours at 48 kHz
 * mono) or every `--max-file-time`. Anything else there is more audio.
 */
import { AudioFormatError } from "./errors.js";
import { interleavePcm } from "./pcm.js";
import { Resampler } from "./resample.js";
import { decodeChannels, encodingOf, type FmtChunk, fourCC, parseFmt, type WavEncoding } from "./wav.js";

export interface WavStreamInfo {
  readonly sampleRate: number;
  readonly channels: number;
  readonly encoding: WavEncoding;
  readonly bitsPerSample: number;
}

type Channels = (Int16Array | Float32Array)[];

/** Headers longer than this are not a WAV stream (chunks before `data` are a few hundred bytes). */
const MAX_HEADER_BYTES = 1 << 20;
/** A data size meaning "unknown" (ffmpeg); 0 means the same to some writers. */
const UNKNOWN_SIZE = 0xffffffff;

export class WavStreamReader {
  #fmt: FmtChunk | undefined;
  #info: WavStreamInfo | undefined;
  /** Header bytes not yet parsed, or the partial frame left from the last push. */
  #pending = new Uint8Array(0);
  #inData = false;
  /** Bytes left in the data chunk as its header declares; undefined once that means nothing. */
  #dataLeft: number | undefined;
  /** Where the next chunk header starts in `#pending`, while parsing a header. */
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
  push(bytes: Uint8Array): Channels {
    let input = this.#pending.length === 0 ? bytes : concat(this.#pending, bytes);
    this.#pending = new Uint8Array(0);
    const decoded: Channels[] = [];
    while (input.byteLength > 0) {
      if (!this.#inData) {
        const dataStart = this.#parseHeader(input);
        if (dataStart === undefined) {
          this.#pending = input.slice();
          break;
        }
        input = input.subarray(dataStart);
        continue;
      }
      if (this.#dataLeft === 0) {
        // Copied: `bytes` may be a buffer the caller reuses.
        if (input.byteLength < 12) {
          this.#pending = input.slice();
          break;
        }
        const view = new DataView(input.buffer, input.byteOffset, 12);
        if (fourCC(view, 0) === "RIFF" && fourCC(view, 8) === "WAVE") {
          this.#inData = false;
          this.#offset = 12;
        } else {
          this.#dataLeft = undefined;
        }
        continue;
      }
      const take = Math.min(input.byteLength, this.#dataLeft ?? Number.POSITIVE_INFINITY);
      const whole = take - (take % this.#blockAlign);
      if (whole > 0) decoded.push(decodeChannels(this.#fmt as FmtChunk, input.subarray(0, whole)));
      if (this.#dataLeft !== undefined) this.#dataLeft -= take;
      // A partial frame waits for its rest; at the declared end of the data it was a pad byte.
      if (take < input.byteLength || this.#dataLeft === 0) input = input.subarray(take);
      else {
        this.#pending = input.slice(whole, take);
        if (this.#dataLeft !== undefined) this.#dataLeft += take - whole;
        break;
      }
    }
    return decoded.length <= 1 ? (decoded[0] ?? []) : joinChannels(decoded);
  }

  /** End of the stream: throws AudioFormatError when it ended before any audio data. */
  end(): void {
    if (this.#fmt === undefined || this.#info === undefined) {
      throw new AudioFormatError("invalid_wav", "The WAV stream ended before its data chunk.");
    }
    this.#pending = new Uint8Array(0);
  }

  get #blockAlign(): number {
    return (this.#fmt as FmtChunk).blockAlign;
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
        this.#startData(size);
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

  #startData(size: number): void {
    const fmt = this.#fmt as FmtChunk;
    const info: WavStreamInfo = {
      sampleRate: fmt.sampleRate,
      channels: fmt.channels,
      encoding: encodingOf(fmt.formatTag),
      bitsPerSample: fmt.bitsPerSample,
    };
    const before = this.#info;
    if (before && (Object.keys(info) as (keyof WavStreamInfo)[]).some((k) => info[k] !== before[k])) {
      throw new AudioFormatError("unsupported_wav_format", "The WAV stream changed its format midway.");
    }
    this.#info = info;
    this.#inData = true;
    this.#dataLeft = size === 0 || size === UNKNOWN_SIZE ? undefined : size;
  }
}

function joinChannels(parts: Channels[]): Channels {
  const first = parts[0] as Channels;
  return first.map((channel, c) => {
    const length = parts.reduce((n, p) => n + (p[c] as Int16Array | Float32Array).length, 0);
    const out = channel instanceof Int16Array ? new Int16Array(length) : new Float32Array(length);
    let at = 0;
    for (const part of parts) {
      const piece = part[c] as Int16Array | Float32Array;
      out.set(piece, at);
      at += piece.length;
    }
    return out;
  });
}

export interface WavStreamTo16kOptions {
  /**
   * `mix` (default): the channels averaged into one. `keep`: each channel resampled on its own,
   * the output interleaved (frame by frame, `info.channels` samples a frame), for a transcriber that
   * keeps a stereo call's two sides apart.
   */
  readonly channels?: "mix" | "keep";
}

/**
 * A WAV byte stream in, 16 kHz PCM16 out (mono, or interleaved channels), chunk by chunk:
 * WavStreamReader into the polyphase Resampler (resample.ts), so any chunking of the same bytes
 * gives the same samples as the whole.
 */
export class WavStreamTo16k {
  readonly #reader = new WavStreamReader();
  readonly #keep: boolean;
  /** One resampler (mix), or one per channel (keep). */
  #resamplers: Resampler[] | undefined;

  constructor(options: WavStreamTo16kOptions = {}) {
    this.#keep = options.channels === "keep";
  }

  get info(): WavStreamInfo | undefined {
    return this.#reader.info;
  }

  push(bytes: Uint8Array): Int16Array {
    const channels = this.#reader.push(bytes);
    if (channels.length === 0) return EMPTY;
    this.#resamplers ??= this.#create(this.#reader.info as WavStreamInfo);
    if (!this.#keep) return (this.#resamplers[0] as Resampler).push(channels);
    return interleavePcm(this.#resamplers.map((r, c) => r.push(channels[c] as Int16Array | Float32Array)));
  }

  /** End of the stream: the resamplers' tails. Throws AudioFormatError when no audio ever came. */
  end(): Int16Array {
    this.#reader.end();
    if (this.#resamplers === undefined) return EMPTY;
    return this.#keep
      ? interleavePcm(this.#resamplers.map((r) => r.flush()))
      : (this.#resamplers[0] as Resampler).flush();
  }

  #create(info: WavStreamInfo): Resampler[] {
    const count = this.#keep ? info.channels : 1;
    return Array.from({ length: count }, () => new Resampler({ inputRate: info.sampleRate }));
  }
}

const EMPTY = new Int16Array(0);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
