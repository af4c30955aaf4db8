/**
 * A two-channel stream's audio messages, split into each channel's bytes in the stream's encoding
 * before decoding (each channel has its own wire decoder: G.711 expansion, upsampling and band
 * extension carry state per channel). Channels interleave frame by frame: `pcm_s16le` sample by
 * sample (4 bytes a frame), `mulaw`/`alaw` byte by byte (2 bytes a frame). A message holds whole
 * frames; positions count frames (a frame moves every channel's position by the same amount).
 */
import { deinterleavePcm } from "@earshot/audio";
import type { Encoding } from "@earshot/protocol";

export const TWO_CHANNELS = 2;

export type SplitAudio =
  | { readonly ok: true; readonly channels: readonly [Uint8Array, Uint8Array]; readonly positions: number }
  | { readonly ok: false; readonly message: string };

/** Bytes of one frame (one sample of each channel) in `encoding`. */
export function frameBytes(encoding: Exclude<Encoding, "opus">): number {
  return encoding === "pcm_s16le" ? 2 * TWO_CHANNELS : TWO_CHANNELS;
}

/** Stream positions (16 kHz samples of each channel) that one byte of a channel's audio makes. */
export function positionsPerByte(encoding: Exclude<Encoding, "opus">): number {
  // PCM16: two bytes a sample; G.711: one byte an 8 kHz sample, two 16 kHz positions.
  return encoding === "pcm_s16le" ? 0.5 : 2;
}

export function splitChannels(bytes: Uint8Array, encoding: Exclude<Encoding, "opus">): SplitAudio {
  const frame = frameBytes(encoding);
  if (bytes.byteLength % frame !== 0) {
    return {
      ok: false,
      message: `Audio has ${bytes.byteLength} bytes: two-channel ${encoding} needs whole frames of ${frame} bytes.`,
    };
  }
  let left: Uint8Array;
  let right: Uint8Array;
  if (encoding === "pcm_s16le") {
    // A copy at an odd offset: Int16Array needs 2-byte alignment. The channels are fresh arrays.
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : new Uint8Array(bytes);
    const samples = new Int16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
    const [l, r] = deinterleavePcm(samples, TWO_CHANNELS) as [Int16Array, Int16Array];
    left = new Uint8Array(l.buffer, l.byteOffset, l.byteLength);
    right = new Uint8Array(r.buffer, r.byteOffset, r.byteLength);
  } else {
    [left, right] = deinterleavePcm(bytes, TWO_CHANNELS) as [Uint8Array, Uint8Array];
  }
  return { ok: true, channels: [left, right], positions: left.byteLength * positionsPerByte(encoding) };
}
