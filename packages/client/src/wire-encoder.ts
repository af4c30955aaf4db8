/**
 * Encodes the client's 16 kHz PCM16 into the stream's wire encoding (docs/protocol.md, "Encodings"),
 * one payload per message:
 *
 * - `pcm_s16le`: the samples' bytes, a view (no copy).
 * - `mulaw`, `alaw`: downsampled to 8 kHz with the polyphase resampler (which low-passes below
 *   4 kHz first), then one G.711 byte per sample. The resampler looks ~6 ms ahead, so each payload
 *   lags its input by that much; `flush()` at the end of the stream sends the rest.
 * - `opus`: one 20 ms packet per payload; less than 20 ms waits for the next call, and `flush()`
 *   pads the last packet with silence. The browser's WebCodecs encoder, where there is one, hands
 *   its packets over asynchronously (to `output`), else opusscript (`useOpus`) encodes in place.
 *
 * Two channels (interleaved frames): `pcm_s16le` as is; G.711 with a resampler per channel, its
 * bytes interleaved again (byte by byte, as the server splits them); Opus carries one channel.
 *
 * A new connection gets a new encoder (the stream continues from the position the server named), so
 * every encoder starts at an even position (G.711: 2 positions a byte) or a packet boundary (opus).
 */
import { alawEncode, deinterleavePcm, mulawEncode, Resampler } from "@earshot/audio";
import { type Encoding, OPUS_FRAME_MS, SAMPLE_RATE, SAMPLES_PER_MS } from "@earshot/protocol/encodings";
import { EarshotClientError } from "./errors.js";

/**
 * An Opus encoder for the client: one 20 ms frame in, its packet out, either at once (opusscript)
 * or later through the `output` its factory was given (WebCodecs, which encodes off the main thread).
 */
export interface OpusPacketEncoder {
  /** The frame's packet, or undefined when it will come through `output`. */
  encode(frame: Int16Array): Uint8Array | undefined;
  /** Frames whose packets are still to come through `output` (0 for a synchronous encoder). */
  readonly pending?: number;
  close(): void;
}
export type OpusEncoderFactory = (output: (packet: Uint8Array) => void) => OpusPacketEncoder;

let opusFactory: OpusEncoderFactory | undefined;
let nativeOpusFactory: OpusEncoderFactory | undefined;

/**
 * Makes `encoding: "opus"` available through `opusscript`. The Node entry calls it (through
 * `./opus.js`); in a browser without WebCodecs, import `@earshot/client/opus` once, through a
 * bundler (it loads `opusscript`, libopus as asm.js). Kept out of the browser entry so a page
 * without Opus loads no codec and no bare npm import.
 */
export function useOpus(factory: OpusEncoderFactory): void {
  opusFactory = factory;
}

/** The browser's own encoder (WebCodecs), preferred over `useOpus`'s where the browser has one. */
export function useNativeOpus(factory: OpusEncoderFactory | undefined): void {
  nativeOpusFactory = factory;
}

/** Whether `createWireEncoder(encoding)` can encode here (Opus needs a registered encoder). */
export function encodingAvailable(encoding: Encoding): boolean {
  return encoding !== "opus" || nativeOpusFactory !== undefined || opusFactory !== undefined;
}

export interface WireEncoder {
  /** Payloads for the next samples (maybe none yet, or several; an async encoder's go to `output`). */
  encode(pcm: Int16Array): Uint8Array[];
  /** End of the stream: payloads for the samples still held. */
  flush(): Uint8Array[];
  /** Payloads of the samples given so far are still to come through `output` (WebCodecs). */
  readonly busy: boolean;
  /** Frees the codec. */
  close(): void;
}

const OPUS_FRAME_SAMPLES = OPUS_FRAME_MS * SAMPLES_PER_MS;

/**
 * `output` receives the payloads an asynchronous encoder (WebCodecs Opus) produces after `encode`
 * returned; the synchronous ones never call it.
 */
export function createWireEncoder(
  encoding: Encoding,
  output: (payload: Uint8Array) => void = () => {},
  channels = 1,
): WireEncoder {
  if (channels > 1 && encoding !== "pcm_s16le") {
    if (encoding === "opus") throw new RangeError("Opus carries one channel: use pcm_s16le, mulaw or alaw.");
    const compand = encoding === "mulaw" ? mulawEncode : alawEncode;
    return new InterleavedEncoder(Array.from({ length: channels }, () => new G711Encoder(compand)));
  }
  switch (encoding) {
    case "pcm_s16le":
      return {
        encode: (pcm) => [new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength)],
        flush: () => [],
        busy: false,
        close: () => {},
      };
    case "mulaw":
      return new G711Encoder(mulawEncode);
    case "alaw":
      return new G711Encoder(alawEncode);
    case "opus": {
      const factory = nativeOpusFactory ?? opusFactory;
      if (!factory) {
        throw new EarshotClientError(
          "invalid_state",
          'encoding "opus" needs an Opus encoder: a browser with WebCodecs, or the module @earshot/client/opus loaded once (in a browser, through a bundler).',
        );
      }
      return new OpusWireEncoder(factory(output));
    }
  }
}

class G711Encoder implements WireEncoder {
  readonly busy = false;
  readonly #compand: (pcm: Int16Array) => Uint8Array;
  readonly #downsampler = new Resampler({ inputRate: SAMPLE_RATE, outputRate: 8000 });

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

/**
 * One G.711 encoder per channel of interleaved frames; their bytes interleaved byte by byte. The
 * channels' resamplers see the same number of samples, so they give the same number of bytes.
 */
class InterleavedEncoder implements WireEncoder {
  readonly busy = false;
  readonly #channels: readonly G711Encoder[];

  constructor(channels: readonly G711Encoder[]) {
    this.#channels = channels;
  }

  encode(pcm: Int16Array): Uint8Array[] {
    const split = deinterleavePcm(pcm, this.#channels.length);
    return this.#interleave(this.#channels.map((channel, c) => channel.encode(split[c] as Int16Array)));
  }

  flush(): Uint8Array[] {
    return this.#interleave(this.#channels.map((channel) => channel.flush()));
  }

  close(): void {}

  #interleave(payloads: Uint8Array[][]): Uint8Array[] {
    const channels = payloads.map((p) => concatBytes(p));
    const length = Math.min(...channels.map((c) => c.length));
    if (length === 0) return [];
    const out = new Uint8Array(length * channels.length);
    channels.forEach((bytes, c) => {
      for (let i = 0; i < length; i++) out[i * channels.length + c] = bytes[i] as number;
    });
    return [out];
  }
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

class OpusWireEncoder implements WireEncoder {
  readonly #encoder: OpusPacketEncoder;
  readonly #carry = new Int16Array(OPUS_FRAME_SAMPLES);
  #carryLength = 0;

  constructor(encoder: OpusPacketEncoder) {
    this.#encoder = encoder;
  }

  get busy(): boolean {
    return (this.#encoder.pending ?? 0) > 0;
  }

  encode(pcm: Int16Array): Uint8Array[] {
    const packets: Uint8Array[] = [];
    let at = 0;
    if (this.#carryLength > 0) {
      at = Math.min(pcm.length, OPUS_FRAME_SAMPLES - this.#carryLength);
      this.#carry.set(pcm.subarray(0, at), this.#carryLength);
      this.#carryLength += at;
      if (this.#carryLength < OPUS_FRAME_SAMPLES) return packets;
      this.#frame(this.#carry, packets);
      this.#carryLength = 0;
    }
    for (; at + OPUS_FRAME_SAMPLES <= pcm.length; at += OPUS_FRAME_SAMPLES) {
      this.#frame(pcm.subarray(at, at + OPUS_FRAME_SAMPLES), packets);
    }
    this.#carry.set(pcm.subarray(at));
    this.#carryLength = pcm.length - at;
    return packets;
  }

  flush(): Uint8Array[] {
    if (this.#carryLength === 0) return [];
    this.#carry.fill(0, this.#carryLength);
    this.#carryLength = 0;
    const packets: Uint8Array[] = [];
    this.#frame(this.#carry, packets);
    return packets;
  }

  close(): void {
    this.#encoder.close();
  }

  #frame(frame: Int16Array, packets: Uint8Array[]): void {
    const packet = this.#encoder.encode(frame);
    if (packet) packets.push(packet);
  }
}
