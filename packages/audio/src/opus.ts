/**
 * Opus (RFC 6716) encoder and decoder for mono PCM16, in Node and in browsers, without native builds.
 *
 * The codec is `opusscript` (libopus 1.4 compiled with Emscripten, MIT). Why it: it is the
 * most used pure-JS libopus on npm (the Discord bot libraries' fallback), has both an encoder and a
 * decoder (`opus-decoder` and the other wasm-audio-decoders are decode-only), works synchronously
 * (so `encode`/`decode` fit a streaming `push`), and ships two builds, ~320 KB of WebAssembly and a
 * ~590 KB asm.js fallback. Its wasm loader reads the `.wasm` file synchronously, which Node can and
 * a browser page cannot, so Node gets the wasm build (≈10× faster) and every other runtime the
 * asm.js one (pure JavaScript, loads anywhere). `@evan/opus` reads its wasm with `fs` and is
 * native-first, `opus-encdec` is little used; libopus itself is the reference codec.
 *
 * Its `encode`/`decode` return Node `Buffer`s, which browsers lack, so this wrapper makes the same
 * two calls on its handler itself and copies the result into plain typed arrays. That touches
 * fields `index.d.ts` does not declare; the dependency is pinned to the exact version (0.1.1, the
 * one these wrappers are tested against in opus.test.ts).
 */
import OpusScript from "opusscript";
import { AudioFormatError } from "./errors.js";

/** The fields of an `OpusScript` instance its own `encode`/`decode` use (opusscript 0.1.1). */
interface OpusScriptInternals {
  readonly handler: {
    _encode(pcmPointer: number, byteLength: number, packetPointer: number, frameSize: number): number;
    _decode(packetPointer: number, byteLength: number, pcmPointer: number): number;
  };
  /** One 16-bit heap slot per PCM *byte* (opusscript's layout), input of `_encode`. */
  readonly inPCM: Uint16Array;
  readonly outOpus: Uint8Array;
  readonly outOpusPointer: number;
  readonly inOpus: Uint8Array;
  readonly inOpusPointer: number;
  /** One 16-bit heap slot per PCM byte, output of `_decode`. */
  readonly outPCM: Uint16Array;
}

type Codec = OpusScript & OpusScriptInternals;

export const OPUS_SAMPLE_RATES = [8000, 12000, 16000, 24000, 48000] as const;
export type OpusSampleRate = (typeof OPUS_SAMPLE_RATES)[number];
/** The largest packet opusscript's buffers hold (3 × 1275 bytes + headers). */
export const MAX_OPUS_PACKET_BYTES = OpusScript.MAX_PACKET_SIZE;
/**
 * How late libopus's decoded audio is at 16 kHz (OPUS_GET_LOOKAHEAD: 2.5 ms + 4 ms of delay
 * compensation; Ogg Opus calls the samples to drop "pre-skip").
 */
export const OPUS_LOOKAHEAD_SAMPLES = 104;
/** Frame durations libopus encodes, in tenths of a millisecond (2.5 ms … 60 ms). */
const FRAME_TENTHS_MS = [25, 50, 100, 200, 400, 600];
const OPUS_SET_COMPLEXITY = 4010;

/** The wasm build loads synchronously only where files can be read synchronously: Node. */
const useWasm =
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

function createCodec(sampleRate: OpusSampleRate): Codec {
  if (!OPUS_SAMPLE_RATES.includes(sampleRate)) throw new RangeError(`Opus cannot run at ${sampleRate} Hz.`);
  return new OpusScript(sampleRate, 1, OpusScript.Application.VOIP, { wasm: useWasm }) as Codec;
}

export interface OpusEncoderOptions {
  /** Default 16000. */
  readonly sampleRate?: OpusSampleRate;
  /** Target bitrate in bit/s (VBR). Default 20000, plenty for wideband speech recognition. */
  readonly bitrate?: number;
  /** 0–10, libopus's speed/quality trade-off. Default 5 (libopus's is 9; asm.js in browsers is slow). */
  readonly complexity?: number;
}

export class OpusEncoder {
  readonly sampleRate: OpusSampleRate;
  #codec: Codec | undefined;

  constructor(options: OpusEncoderOptions = {}) {
    this.sampleRate = options.sampleRate ?? 16_000;
    const codec = createCodec(this.sampleRate);
    codec.setBitrate(options.bitrate ?? 20_000);
    codec.encoderCTL(OPUS_SET_COMPLEXITY, options.complexity ?? 5);
    this.#codec = codec;
  }

  /** Encodes one frame (2.5, 5, 10, 20, 40 or 60 ms of samples) into one packet. */
  encode(frame: Int16Array): Uint8Array {
    const codec = this.#open();
    if (!FRAME_TENTHS_MS.some((tenths) => (tenths * this.sampleRate) / 10_000 === frame.length)) {
      throw new RangeError(`${frame.length} samples is not an Opus frame at ${this.sampleRate} Hz.`);
    }
    codec.inPCM.set(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
    const length = codec.handler._encode(codec.inPCM.byteOffset, frame.byteLength, codec.outOpusPointer, frame.length);
    if (length < 0) throw new Error(`Opus encoder failed (${OpusScript.Error[length] ?? length}).`);
    return codec.outOpus.slice(0, length);
  }

  /** Frees the codec's memory; the encoder cannot be used after. Idempotent. */
  close(): void {
    this.#codec?.delete();
    this.#codec = undefined;
  }

  #open(): Codec {
    if (!this.#codec) throw new Error("The Opus encoder is closed.");
    return this.#codec;
  }
}

export class OpusDecoder {
  readonly sampleRate: OpusSampleRate;
  #codec: Codec | undefined;

  /** Decodes any Opus packet (whatever rate it was encoded at) to mono PCM16 at `sampleRate`. */
  constructor(sampleRate: OpusSampleRate = 16_000) {
    this.sampleRate = sampleRate;
    this.#codec = createCodec(sampleRate);
  }

  /**
   * One packet to its samples. Throws AudioFormatError `invalid_opus_packet` for a packet libopus
   * rejects or one over MAX_OPUS_PACKET_BYTES; the decoder stays usable.
   */
  decode(packet: Uint8Array): Int16Array {
    const codec = this.#codec;
    if (!codec) throw new Error("The Opus decoder is closed.");
    if (packet.byteLength === 0 || packet.byteLength > MAX_OPUS_PACKET_BYTES) {
      throw new AudioFormatError(
        "invalid_opus_packet",
        `An Opus packet has 1 to ${MAX_OPUS_PACKET_BYTES} bytes, not ${packet.byteLength}.`,
      );
    }
    codec.inOpus.set(packet);
    const samples = codec.handler._decode(codec.inOpusPointer, packet.byteLength, codec.outPCM.byteOffset);
    if (samples < 0) {
      throw new AudioFormatError(
        "invalid_opus_packet",
        `Not a valid Opus packet (${OpusScript.Error[samples] ?? samples}).`,
      );
    }
    // Uint8Array.from keeps the low byte of each slot, as opusscript's Buffer.from does.
    const bytes = Uint8Array.from(codec.outPCM.subarray(0, samples * 2));
    return new Int16Array(bytes.buffer, 0, samples);
  }

  /** Frees the codec's memory; the decoder cannot be used after. Idempotent. */
  close(): void {
    this.#codec?.delete();
    this.#codec = undefined;
  }
}
