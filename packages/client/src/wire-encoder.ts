/**
 * Encodes the client's 16 kHz PCM16 into the stream's wire encoding (docs/protocol.md, "Encodings"),
 * one payload per message:
 *
 * - `pcm_s16le`: the samples' bytes, a view (no copy).
 * - `mulaw`, `alaw`: downsampled to 8 kHz with the polyphase resampler (which low-passes below
 *   4 kHz first), then one G.711 byte per sample. The resampler looks ~6 ms ahead, so each payload
 *   lags its input by that much; `flush()` at the end of the stream sends the rest.
 * - `opus`: one 20 ms packet per payload; less than 20 ms waits for the next call, and `flush()`
 *   pads the last packet with silence.
 *
 * A new connection gets a new encoder (the stream continues from the position the server named), so
 * every encoder starts at an even position (G.711: 2 positions a byte) or a packet boundary (opus).
 */
import { alawEncode, mulawEncode, Resampler } from "@earshot/audio";
import { type Encoding, OPUS_FRAME_MS } from "@earshot/protocol/encodings";
import { EarshotClientError } from "./errors.js";

/** The Opus encoder the client uses, once `@earshot/client/opus` has been imported (see `useOpus`). */
export interface OpusPacketEncoder {
  encode(pcm: Int16Array): Uint8Array;
  close(): void;
}
let opusFactory: (() => OpusPacketEncoder) | undefined;

/**
 * Makes `encoding: "opus"` available. The Node entry calls it (through `./opus.js`); in a browser,
 * import `@earshot/client/opus` once, through a bundler (it loads `opusscript`, libopus as asm.js).
 * Kept out of the browser entry so a page without Opus loads no codec and no bare npm import.
 */
export function useOpus(factory: () => OpusPacketEncoder): void {
  opusFactory = factory;
}

export interface WireEncoder {
  /** Payloads for the next samples (maybe none yet, or several). */
  encode(pcm: Int16Array): Uint8Array[];
  /** End of the stream: payloads for the samples still held. */
  flush(): Uint8Array[];
  /** Frees the codec. */
  close(): void;
}

const OPUS_FRAME_SAMPLES = OPUS_FRAME_MS * 16;

export function createWireEncoder(encoding: Encoding): WireEncoder {
  switch (encoding) {
    case "pcm_s16le":
      return {
        encode: (pcm) => [new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength)],
        flush: () => [],
        close: () => {},
      };
    case "mulaw":
      return new G711Encoder(mulawEncode);
    case "alaw":
      return new G711Encoder(alawEncode);
    case "opus":
      if (!opusFactory) {
        throw new EarshotClientError(
          "invalid_state",
          'encoding "opus" needs the Opus codec: load the module @earshot/client/opus once (in a browser, through a bundler).',
        );
      }
      return new OpusWireEncoder(opusFactory());
  }
}

class G711Encoder implements WireEncoder {
  readonly #compand: (pcm: Int16Array) => Uint8Array;
  readonly #downsampler = new Resampler({ inputRate: 16_000, outputRate: 8000 });

  constructor(compand: (pcm: Int16Array) => Uint8Array) {
    this.#compand = compand;
  }

  encode(pcm: Int16Array): Uint8Array[] {
    return this.#payloads(this.#downsampler.push(pcm));
  }

  flush(): Uint8Array[] {
    return this.#payloads(this.#downsampler.flush());
  }

  close(): void {}

  #payloads(pcm8k: Int16Array): Uint8Array[] {
    return pcm8k.length === 0 ? [] : [this.#compand(pcm8k)];
  }
}

class OpusWireEncoder implements WireEncoder {
  readonly #encoder: OpusPacketEncoder;
  readonly #carry = new Int16Array(OPUS_FRAME_SAMPLES);
  #carryLength = 0;

  constructor(encoder: OpusPacketEncoder) {
    this.#encoder = encoder;
  }

  encode(pcm: Int16Array): Uint8Array[] {
    const packets: Uint8Array[] = [];
    let at = 0;
    if (this.#carryLength > 0) {
      at = Math.min(pcm.length, OPUS_FRAME_SAMPLES - this.#carryLength);
      this.#carry.set(pcm.subarray(0, at), this.#carryLength);
      this.#carryLength += at;
      if (this.#carryLength < OPUS_FRAME_SAMPLES) return packets;
      packets.push(this.#encoder.encode(this.#carry));
      this.#carryLength = 0;
    }
    for (; at + OPUS_FRAME_SAMPLES <= pcm.length; at += OPUS_FRAME_SAMPLES) {
      packets.push(this.#encoder.encode(pcm.subarray(at, at + OPUS_FRAME_SAMPLES)));
    }
    this.#carry.set(pcm.subarray(at));
    this.#carryLength = pcm.length - at;
    return packets;
  }

  flush(): Uint8Array[] {
    if (this.#carryLength === 0) return [];
    this.#carry.fill(0, this.#carryLength);
    this.#carryLength = 0;
    return [this.#encoder.encode(this.#carry)];
  }

  close(): void {
    this.#encoder.close();
  }
}
