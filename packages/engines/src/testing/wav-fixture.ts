/**
 * Reads the PCM16 WAV fixtures the engine tests decode. Walks the RIFF chunks rather than assuming
 * a 44-byte header; anything but 16-bit PCM is refused. A test helper only: the audio package owns
 * general-purpose WAV I/O.
 */

import { readFile } from "node:fs/promises";

export interface WavAudio {
  readonly sampleRate: number;
  readonly channels: number;
  /** Interleaved samples. */
  readonly samples: Int16Array;
}

export async function readWavFile(path: string): Promise<WavAudio> {
  return parseWav(await readFile(path), path);
}

export function parseWav(bytes: Uint8Array, name = "wav"): WavAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new Error(`${name}: not a RIFF/WAVE file`);
  let format: { sampleRate: number; channels: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      const audioFormat = view.getUint16(body, true);
      const bitsPerSample = view.getUint16(body + 14, true);
      // 0xfffe is WAVE_FORMAT_EXTENSIBLE; for 16-bit it carries plain PCM.
      if ((audioFormat !== 1 && audioFormat !== 0xfffe) || bitsPerSample !== 16) {
        throw new Error(`${name}: only 16-bit PCM is supported (format ${audioFormat}, ${bitsPerSample} bits)`);
      }
      format = { channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true) };
    } else if (id === "data") {
      if (!format) throw new Error(`${name}: data chunk before fmt chunk`);
      const length = Math.min(size, bytes.length - body) & ~1;
      // Copy: the chunk may sit at an odd offset, and Int16Array views need 2-byte alignment.
      const samples = new Int16Array(length / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(body + 2 * i, true);
      return { ...format, samples };
    }
    offset = body + size + (size & 1);
  }
  throw new Error(`${name}: no data chunk`);
}
