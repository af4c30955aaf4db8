/**
 * Opus from the browser's own codec: WebCodecs `AudioEncoder` (Chromium, Firefox), which encodes
 * off the main thread and needs no JavaScript codec on the page. Configured as the server decodes
 * (docs/protocol.md, "Encodings"): 16 kHz mono, 20 ms frames, raw packets (no Ogg), VBR at 20 kbit/s.
 * At 16 kHz Chromium's encoder reports an OpusHead pre-skip of 104 samples, the lookahead the
 * server drops, and hands out one packet per 20 ms frame, in order.
 *
 * The browser entry registers it (`registerNativeOpus`) where `AudioEncoder` exists, and withdraws
 * it if the browser says it cannot encode this configuration.
 */
import { OPUS_FRAME_MS, SAMPLE_RATE } from "@earshot/protocol/encodings";
import { EarshotClientError } from "./errors.js";
import { type OpusPacketEncoder, useNativeOpus } from "./wire-encoder.js";

const CONFIG: AudioEncoderConfig = {
  codec: "opus",
  sampleRate: SAMPLE_RATE,
  numberOfChannels: 1,
  bitrate: 20_000,
  bitrateMode: "variable",
  // `application` is newer than TypeScript's DOM types; browsers that do not know it ignore it.
  opus: {
    format: "opus",
    frameDuration: OPUS_FRAME_MS * 1000,
    complexity: 5,
    application: "voip",
  } as OpusEncoderConfig,
};

class WebCodecsOpusEncoder implements OpusPacketEncoder {
  readonly #encoder: AudioEncoder;
  #frames = 0;
  #packets = 0;
  #failure: EarshotClientError | undefined;

  constructor(output: (packet: Uint8Array) => void) {
    this.#encoder = new AudioEncoder({
      output: (chunk) => {
        const packet = new Uint8Array(chunk.byteLength);
        chunk.copyTo(packet);
        this.#packets += 1;
        output(packet);
      },
      error: (error) => {
        this.#failure = new EarshotClientError("invalid_state", `The browser's Opus encoder failed: ${error.message}`, {
          cause: error,
        });
      },
    });
    this.#encoder.configure(CONFIG);
  }

  get pending(): number {
    return this.#failure ? 0 : this.#frames - this.#packets;
  }

  encode(frame: Int16Array): undefined {
    if (this.#failure) throw this.#failure;
    // The timestamp only orders the frames (µs); the server counts positions by packets.
    const timestamp = (this.#frames * frame.length * 1_000_000) / SAMPLE_RATE;
    const data = new AudioData({
      format: "s16",
      sampleRate: SAMPLE_RATE,
      numberOfChannels: 1,
      numberOfFrames: frame.length,
      timestamp,
      data: frame as Int16Array<ArrayBuffer>,
    });
    this.#frames += 1;
    this.#encoder.encode(data);
    data.close();
    return undefined;
  }

  close(): void {
    if (this.#encoder.state !== "closed") this.#encoder.close();
  }
}

/** Registers the WebCodecs encoder where the browser has one that takes this configuration. */
export function registerNativeOpus(): void {
  if (typeof AudioEncoder !== "function" || typeof AudioData !== "function") return;
  useNativeOpus((output) => new WebCodecsOpusEncoder(output));
  AudioEncoder.isConfigSupported(CONFIG).then(
    (support) => support.supported || useNativeOpus(undefined),
    () => useNativeOpus(undefined),
  );
}
