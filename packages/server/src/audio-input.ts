/**
 * Turns audio messages into PCM16 sample views. Hosts are little-endian (x86-64, arm64), so the
 * wire's PCM16LE bytes are viewed in place; only a buffer at an odd byte offset is copied.
 */
export type AudioDecodeResult = { ok: true; pcm: Int16Array } | { ok: false; message: string };

const HEX = /^[0-9a-fA-F]*$/;

export function pcmFromBytes(bytes: Uint8Array): AudioDecodeResult {
  if (bytes.byteLength % 2 !== 0) {
    return { ok: false, message: `Audio has ${bytes.byteLength} bytes: PCM16 needs an even number.` };
  }
  // A copy, not Buffer#slice (a view at the same odd offset): Int16Array needs 2-byte alignment.
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : new Uint8Array(bytes);
  return { ok: true, pcm: new Int16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2) };
}

export function pcmFromHex(hex: string): AudioDecodeResult {
  if (!HEX.test(hex)) return { ok: false, message: "Audio is not valid hex." };
  if (hex.length % 4 !== 0) {
    return {
      ok: false,
      message: `Audio hex has ${hex.length} digits: PCM16 needs a multiple of 4 (2 bytes a sample).`,
    };
  }
  return pcmFromBytes(Buffer.from(hex, "hex"));
}
