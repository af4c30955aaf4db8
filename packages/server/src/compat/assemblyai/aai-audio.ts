/**
 * AssemblyAI's binary audio frames, onto an earshot session. Two formats pass through as they are,
 * because the session's wire decoder takes them: `pcm_s16le` at 16 kHz, and `pcm_mulaw` at 8 kHz
 * (G.711, with earshot's band extension). Any other rate is decoded and resampled here to 16 kHz
 * PCM16 (the polyphase resampler, exact across frame boundaries) before the session gets it.
 *
 * Frames longer than 1000 ms are refused (3007), as AssemblyAI refuses them. Shorter than 50 ms,
 * which AssemblyAI also refuses, is taken: nothing in earshot needs a minimum.
 */
import { mulawDecode, Resampler, TARGET_SAMPLE_RATE } from "@earshot/audio";
import type { StreamConfig } from "@earshot/protocol";
import type { AaiErrorCode } from "./aai-errors.js";
import type { AaiEncoding } from "./aai-params.js";

/** The longest audio frame AssemblyAI takes. */
export const MAX_FRAME_MS = 1000;
/** The 8 kHz G.711 rate the session's decoder takes μ-law at. */
const MULAW_NATIVE_RATE = 8000;

export type AudioFrame =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly code: AaiErrorCode; readonly why: string };

export class AaiAudioInput {
  readonly #encoding: AaiEncoding;
  readonly #sampleRate: number;
  readonly #bytesPerSample: number;
  /** Set when frames are resampled here; the session then takes 16 kHz PCM16. */
  readonly #resampler: Resampler | undefined;

  constructor(encoding: AaiEncoding, sampleRate: number) {
    this.#encoding = encoding;
    this.#sampleRate = sampleRate;
    this.#bytesPerSample = encoding === "pcm_s16le" ? 2 : 1;
    const native = encoding === "pcm_s16le" ? TARGET_SAMPLE_RATE : MULAW_NATIVE_RATE;
    this.#resampler = sampleRate === native ? undefined : new Resampler({ inputRate: sampleRate });
  }

  /** The audio format of the session's config. */
  get sessionFormat(): Pick<StreamConfig, "encoding" | "sample_rate"> {
    if (this.#resampler || this.#encoding === "pcm_s16le") {
      return { encoding: "pcm_s16le", sample_rate: TARGET_SAMPLE_RATE };
    }
    return { encoding: "mulaw", sample_rate: MULAW_NATIVE_RATE };
  }

  /** How much audio `byteLength` bytes of a frame hold, in ms. */
  durationMs(byteLength: number): number {
    return (byteLength / this.#bytesPerSample / this.#sampleRate) * 1000;
  }

  /** One binary frame, as the session takes it. */
  frame(bytes: Uint8Array): AudioFrame {
    if (bytes.byteLength % this.#bytesPerSample !== 0) {
      return { ok: false, code: "invalid_message", why: `${bytes.byteLength} bytes is not a whole number of samples` };
    }
    const ms = this.durationMs(bytes.byteLength);
    if (ms > MAX_FRAME_MS) {
      return { ok: false, code: "input_duration", why: `${Math.round(ms)} ms. Expected at most ${MAX_FRAME_MS} ms` };
    }
    const resampler = this.#resampler;
    if (!resampler) return { ok: true, bytes };
    return { ok: true, bytes: asBytes(resampler.push(this.#samples(bytes))) };
  }

  /** The resampler's last samples, at the end of the stream (none when frames pass through). */
  flush(): Uint8Array | undefined {
    const tail = this.#resampler?.flush();
    return tail && tail.length > 0 ? asBytes(tail) : undefined;
  }

  #samples(bytes: Uint8Array): Int16Array {
    if (this.#encoding === "pcm_mulaw") return mulawDecode(bytes);
    // Int16Array needs 2-byte alignment: a frame at an odd offset is copied.
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : new Uint8Array(bytes);
    return new Int16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
  }
}

const asBytes = (samples: Int16Array): Uint8Array =>
  new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
