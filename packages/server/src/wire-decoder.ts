/**
 * Turns a stream's audio messages (binary frames, or the bytes of hex `audio_chunk`s) into 16 kHz
 * PCM16 for the engine, per encoding, and says how far each message moves the stream position
 * (16 kHz samples of decoded audio, whatever the encoding: docs/protocol.md, "Encodings"):
 *
 * - `pcm_s16le`: viewed in place (hosts are little-endian: x86-64, arm64; only a buffer at an odd
 *   byte offset is copied), after removing a seed client's overlap; 1 position per 2 bytes.
 * - `mulaw`, `alaw`: G.711 bytes at 8 kHz, decoded and upsampled with the polyphase resampler; 2
 *   positions per byte. The resampler looks ~6 ms ahead, so the engine gets those samples with the
 *   next message, or at the end of the stream (`flush`). Then, unless it is off, the band extension
 *   (`BandExtender`: a mirror image of the 0–4 kHz band, tilted down, in the empty 4–8 kHz band, at
 *   `bandExtensionDb`), which brings a wideband model's WER on telephone audio down (docs/telephony.md).
 * - `opus`: one packet per message; positions = the samples it decodes to (320 for 20 ms). The
 *   first 6.5 ms the stream decodes to are the encoder's lookahead (Ogg Opus's pre-skip) and are
 *   dropped, so the audio lines up with its positions; `flush` gives that much silence back at the
 *   end, so the engine gets exactly as many samples as the positions count. A resumed connection's
 *   new encoder starts with its own lookahead, which fills the 6.5 ms the old encoder still held:
 *   the alignment holds across connections.
 *
 * A decoder lives as long as its session, across connections: a resumed connection continues the
 * same audio, so the resampler's history and the Opus decoder's state carry on.
 */
import { AudioFormatError, alawDecode, BandExtender, mulawDecode, Resampler } from "@earshot/audio";
import { OPUS_LOOKAHEAD_SAMPLES, OpusDecoder } from "@earshot/audio/opus";
import { type Encoding, SAMPLE_RATE } from "@earshot/protocol";
import { OverlapRemover } from "./overlap.js";

export type WireAudio = { ok: true; pcm: Int16Array; positions: number } | { ok: false; message: string };

export interface WireDecoder {
  /** One message's audio; `isHex`: it came as an `audio_chunk` (seed overlap is detected there). */
  decode(bytes: Uint8Array, isHex: boolean): WireAudio;
  /** A new connection took the stream over: its first message repeats nothing. */
  newConnection(): void;
  /** End of the stream: the samples the decoder still holds. */
  flush(): Int16Array;
  /** Frees the codec (Opus keeps memory outside the JS heap). */
  close(): void;
}

const HEX = /^[0-9a-fA-F]*$/;
const EMPTY = new Int16Array(0);

export type HexBytes = { ok: true; bytes: Uint8Array } | { ok: false; message: string };

export function bytesFromHex(hex: string): HexBytes {
  if (!HEX.test(hex)) return { ok: false, message: "Audio is not valid hex." };
  if (hex.length % 2 !== 0) return { ok: false, message: `Audio hex has ${hex.length} digits: 2 make a byte.` };
  return { ok: true, bytes: Buffer.from(hex, "hex") };
}

export interface WireDecoderOptions {
  /** Declared overlap of PCM messages; undefined detects it in hex chunks. */
  readonly overlapMs: number | undefined;
  /** Image gain of the band extension for 8 kHz encodings; undefined: none. */
  readonly bandExtensionDb: number | undefined;
  /** Stream position of the first sample (the band extension's image follows its parity). */
  readonly startSample: number;
}

export function createWireDecoder(encoding: Encoding, options: WireDecoderOptions): WireDecoder {
  switch (encoding) {
    case "pcm_s16le":
      return new PcmDecoder(options.overlapMs);
    case "mulaw":
      return new G711Decoder(mulawDecode, bandExtender(options));
    case "alaw":
      return new G711Decoder(alawDecode, bandExtender(options));
    case "opus":
      return new OpusWireDecoder();
  }
}

function bandExtender({ bandExtensionDb, startSample }: WireDecoderOptions): BandExtender | undefined {
  return bandExtensionDb === undefined ? undefined : new BandExtender({ gainDb: bandExtensionDb, startSample });
}

class PcmDecoder implements WireDecoder {
  readonly #overlapMs: number | undefined;
  #overlap: OverlapRemover;

  constructor(overlapMs: number | undefined) {
    this.#overlapMs = overlapMs;
    this.#overlap = new OverlapRemover(overlapMs);
  }

  decode(bytes: Uint8Array, isHex: boolean): WireAudio {
    if (bytes.byteLength % 2 !== 0) {
      return { ok: false, message: `Audio has ${bytes.byteLength} bytes: PCM16 needs an even number.` };
    }
    // A copy, not Buffer#slice (a view at the same odd offset): Int16Array needs 2-byte alignment.
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : new Uint8Array(bytes);
    const samples = new Int16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
    // Binary frames are contiguous unless an overlap was declared; hex chunks may repeat (seed).
    const pcm = isHex || this.#overlapMs !== undefined ? this.#overlap.strip(samples) : samples;
    return { ok: true, pcm, positions: pcm.length };
  }

  newConnection(): void {
    this.#overlap = new OverlapRemover(this.#overlapMs);
  }

  flush(): Int16Array {
    return EMPTY;
  }

  close(): void {}
}

class G711Decoder implements WireDecoder {
  readonly #expand: (bytes: Uint8Array) => Int16Array;
  readonly #upsampler = new Resampler({ inputRate: 8000, outputRate: SAMPLE_RATE });
  readonly #extender: BandExtender | undefined;

  constructor(expand: (bytes: Uint8Array) => Int16Array, extender: BandExtender | undefined) {
    this.#expand = expand;
    this.#extender = extender;
  }

  decode(bytes: Uint8Array): WireAudio {
    const pcm = this.#upsampler.push(this.#expand(bytes));
    // The resampler's output is a fresh array: extending it in place copies nothing.
    return { ok: true, pcm: this.#extender?.process(pcm) ?? pcm, positions: 2 * bytes.byteLength };
  }

  newConnection(): void {}

  flush(): Int16Array {
    const tail = this.#upsampler.flush();
    return this.#extender?.process(tail) ?? tail;
  }

  close(): void {}
}

class OpusWireDecoder implements WireDecoder {
  readonly #decoder = new OpusDecoder(SAMPLE_RATE);
  /** Lookahead samples still to drop at the start of the stream. */
  #skip = OPUS_LOOKAHEAD_SAMPLES;

  decode(bytes: Uint8Array): WireAudio {
    let decoded: Int16Array;
    try {
      decoded = this.#decoder.decode(bytes);
    } catch (error) {
      if (error instanceof AudioFormatError) return { ok: false, message: error.message };
      throw error;
    }
    const skipped = Math.min(this.#skip, decoded.length);
    this.#skip -= skipped;
    return { ok: true, pcm: decoded.subarray(skipped), positions: decoded.length };
  }

  newConnection(): void {}

  flush(): Int16Array {
    return new Int16Array(OPUS_LOOKAHEAD_SAMPLES - this.#skip);
  }

  close(): void {
    this.#decoder.close();
  }
}
