/**
 * Audio encodings of binary frames and hex `audio_chunk`s (docs/protocol.md, "Encodings"). Stream
 * positions are 16 kHz samples of decoded audio whatever the encoding. No dependencies, so browser
 * code can import it (`@earshot/protocol/encodings`) without the schemas and zod.
 */
/** Sample rate of PCM on the wire and inside engines, in protocol v1: stream positions count these. */
export const SAMPLE_RATE = 16_000;
/** Samples in a millisecond at `SAMPLE_RATE` (16). */
export const SAMPLES_PER_MS = SAMPLE_RATE / 1000;
export const samplesToMs = (samples: number): number => Math.round(samples / SAMPLES_PER_MS);
export const msToSamples = (ms: number): number => Math.round(ms * SAMPLES_PER_MS);

export const ENCODINGS = ["pcm_s16le", "mulaw", "alaw", "opus"] as const;

export type Encoding = (typeof ENCODINGS)[number];

/** The one `sample_rate` each encoding takes (and its default): G.711 is 8 kHz telephone audio. */
export const ENCODING_SAMPLE_RATES: Readonly<Record<Encoding, number>> = {
  pcm_s16le: 16_000,
  mulaw: 8_000,
  alaw: 8_000,
  opus: 16_000,
};

/** Opus packet duration the SDK sends (one packet per message); the server decodes any valid duration. */
export const OPUS_FRAME_MS = 20;

/**
 * Bounds of the telephone band extension's gain (`config.band_extension_db`): the level of the
 * 4–8 kHz mirror image relative to the 0–4 kHz baseband. Above 0 dB the image would outweigh the
 * speech.
 */
export const MIN_BAND_EXTENSION_DB = -60;
export const MAX_BAND_EXTENSION_DB = 0;
