/**
 * Deepgram's binary frames turned into what each channel's session reads. A session takes one of
 * earshot's wire encodings (16 kHz PCM16, 8 kHz G.711, Opus) in mono; Deepgram's audio may be
 * interleaved channels at any linear16 rate, cut anywhere (a frame need not end on a sample).
 *
 * What arrives is given to the sessions unchanged where it already is one of those (mono 16 kHz
 * linear16, mono G.711, Opus), so the engine hears exactly what earshot's own protocol would give
 * it. Otherwise it is split into channels (`multichannel`) or mixed down to mono, and linear16 at
 * another rate is resampled to 16 kHz (earshot's resampler, streamed: any cut gives the same samples).
 */
import {
  alawDecode,
  alawEncode,
  BandExtender,
  deinterleavePcm,
  mulawDecode,
  mulawEncode,
  Resampler,
} from "@earshot/audio";
import type { Encoding } from "@earshot/protocol";
import type { DeepgramEncoding } from "./listen-query.js";

export interface ListenAudioFormat {
  readonly encoding: DeepgramEncoding;
  readonly sampleRate: number;
  readonly channels: number;
  readonly multichannel: boolean;
  /**
   * For linear16 at 8 kHz: the band extension's gain (dB) added after upsampling, as earshot's own
   * 8 kHz encodings get it (docs/telephony.md, "8 kHz audio"); undefined: none.
   */
  readonly bandExtensionDb?: number | undefined;
}

const SESSION_ENCODING: Readonly<Record<DeepgramEncoding, Encoding>> = {
  linear16: "pcm_s16le",
  mulaw: "mulaw",
  alaw: "alaw",
  opus: "opus",
};

const BYTES_PER_SAMPLE: Readonly<Record<DeepgramEncoding, number>> = { linear16: 2, mulaw: 1, alaw: 1, opus: 0 };

export class ListenAudio {
  /** What each session is configured with. */
  readonly sessionEncoding: Encoding;
  /** Sessions fed: one per channel with `multichannel`, else one. */
  readonly outputs: number;
  readonly #format: ListenAudioFormat;
  /** Bytes per frame (one sample of every channel); 0 for Opus, whose packets are passed whole. */
  readonly #frameBytes: number;
  readonly #passThrough: boolean;
  /** linear16 only: one per output. */
  readonly #resamplers: Resampler[];
  /** linear16 at 8 kHz only: one per output. */
  readonly #extenders: BandExtender[];
  /** Audio received, in ms of the client's stream (0 for Opus, whose packets are not measured here). */
  #receivedMs = 0;
  /** The start of a frame cut by the end of the last message. */
  #carry: Uint8Array = new Uint8Array(0);

  constructor(format: ListenAudioFormat) {
    this.#format = format;
    this.sessionEncoding = SESSION_ENCODING[format.encoding];
    this.outputs = format.multichannel ? format.channels : 1;
    this.#frameBytes = BYTES_PER_SAMPLE[format.encoding] * format.channels;
    const mono = format.channels === 1;
    this.#passThrough =
      format.encoding === "opus" || (mono && (format.encoding !== "linear16" || format.sampleRate === 16_000));
    this.#resamplers =
      format.encoding === "linear16" && !this.#passThrough
        ? Array.from({ length: this.outputs }, () => new Resampler({ inputRate: format.sampleRate }))
        : [];
    const { bandExtensionDb } = format;
    this.#extenders =
      this.#resamplers.length > 0 && format.sampleRate === 8000 && bandExtensionDb !== undefined
        ? Array.from({ length: this.outputs }, () => new BandExtender({ gainDb: bandExtensionDb }))
        : [];
  }

  get receivedMs(): number {
    return this.#receivedMs;
  }

  /** One binary message: the audio for each output, in the session encoding (maybe empty). */
  push(message: Uint8Array): Uint8Array[] {
    if (this.#frameBytes === 0) return [message];
    const bytes = this.#withCarry(message);
    const whole = bytes.length - (bytes.length % this.#frameBytes);
    this.#receivedMs += (whole / this.#frameBytes / this.#format.sampleRate) * 1000;
    this.#carry = bytes.slice(whole);
    const frames = bytes.subarray(0, whole);
    if (this.#passThrough) return [frames];
    if (this.#format.encoding === "linear16") return this.#linear16(frames);
    return this.#g711(frames);
  }

  /** The end of the stream: what the resamplers still hold (a partial frame is dropped). */
  flush(): Uint8Array[] {
    this.#carry = new Uint8Array(0);
    return this.#resamplers.map((resampler, index) => this.#output(index, resampler.flush()));
  }

  #withCarry(message: Uint8Array): Uint8Array {
    if (this.#carry.length === 0) return message;
    const joined = new Uint8Array(this.#carry.length + message.length);
    joined.set(this.#carry);
    joined.set(message, this.#carry.length);
    return joined;
  }

  #linear16(frames: Uint8Array): Uint8Array[] {
    const samples = readInt16(frames);
    const channels = this.#format.channels === 1 ? [samples] : deinterleavePcm(samples, this.#format.channels);
    if (this.#format.multichannel) {
      return channels.map((channel, index) =>
        this.#output(index, (this.#resamplers[index] as Resampler).push(channel)),
      );
    }
    // The resampler averages the channels it is given: the mixdown.
    return [this.#output(0, (this.#resamplers[0] as Resampler).push(channels))];
  }

  /** 16 kHz samples of an output, band-extended when they were 8 kHz, as `pcm_s16le` bytes. */
  #output(index: number, samples: Int16Array): Uint8Array {
    return asBytes(this.#extenders[index]?.process(samples) ?? samples);
  }

  /** Several G.711 channels (one is passed through): each on its own, or mixed and encoded again. */
  #g711(frames: Uint8Array): Uint8Array[] {
    const channels = deinterleavePcm(frames, this.#format.channels);
    if (this.#format.multichannel) return channels;
    const mulaw = this.#format.encoding === "mulaw";
    const decoded = channels.map((channel) => (mulaw ? mulawDecode(channel) : alawDecode(channel)));
    const mixed = new Int16Array(decoded[0]?.length ?? 0);
    for (let i = 0; i < mixed.length; i++) {
      let sum = 0;
      for (const channel of decoded) sum += channel[i] as number;
      mixed[i] = Math.round(sum / decoded.length);
    }
    return [mulaw ? mulawEncode(mixed) : alawEncode(mixed)];
  }
}

/** Little-endian PCM16 (a copy: a WebSocket message's bytes need not be 2-byte aligned). */
function readInt16(bytes: Uint8Array): Int16Array {
  const samples = new Int16Array(bytes.length / 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
  return samples;
}

/** PCM16 as the little-endian bytes a `pcm_s16le` session reads. */
function asBytes(samples: Int16Array): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i] as number, true);
  return bytes;
}
