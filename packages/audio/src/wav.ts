/**
 * WAV (RIFF/WAVE) reading and PCM16 writing, browser-safe (DataView, no Buffer).
 *
 * Reads formats 1 (PCM 8/16/24/32-bit), 3 (IEEE float 32/64), 6 (A-law), 7 (μ-law) and 0xFFFE
 * (WAVE_FORMAT_EXTENSIBLE wrapping one of those). Chunks other than `fmt ` and `data` (`LIST`,
 * `fact`, `cue `…) are skipped, honouring the pad byte after odd-sized chunks. A `data` size larger
 * than the file (streamed writers leave 0xFFFFFFFF) is read up to the last whole frame.
 */
import { AudioFormatError } from "./errors.js";
import { alawDecode, mulawDecode } from "./g711.js";
import { floatToInt16, int16ToFloat } from "./pcm.js";

export type WavEncoding = "pcm" | "float" | "alaw" | "mulaw";

export interface WavInfo {
  readonly sampleRate: number;
  readonly channels: number;
  readonly encoding: WavEncoding;
  /** The WAV format tag after unwrapping WAVE_FORMAT_EXTENSIBLE (1, 3, 6 or 7). */
  readonly formatTag: number;
  readonly bitsPerSample: number;
  /** Samples per channel. */
  readonly frames: number;
}

export interface WavAudio<T extends Float32Array | Int16Array> extends WavInfo {
  /** One array per channel, de-interleaved. */
  readonly samples: T[];
}

export interface ReadWavOptions<F extends "float32" | "int16"> {
  /** Sample type of the output: float32 in −1..1 (default) or int16. */
  readonly output?: F;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

/** A parsed `fmt ` chunk (format tag already unwrapped from WAVE_FORMAT_EXTENSIBLE). */
export interface FmtChunk {
  formatTag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

export function readWav(bytes: Uint8Array, options?: ReadWavOptions<"float32">): WavAudio<Float32Array>;
export function readWav(bytes: Uint8Array, options: ReadWavOptions<"int16">): WavAudio<Int16Array>;
export function readWav(
  bytes: Uint8Array,
  options: ReadWavOptions<"float32" | "int16"> = {},
): WavAudio<Float32Array> | WavAudio<Int16Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || fourCC(view, 0) !== "RIFF" || fourCC(view, 8) !== "WAVE") {
    throw new AudioFormatError("invalid_wav", "Not a WAV file: missing the RIFF/WAVE header.");
  }
  let fmt: FmtChunk | undefined;
  let data: Uint8Array | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.byteLength && data === undefined) {
    const id = fourCC(view, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") fmt = parseFmt(view, body, size);
    else if (id === "data") {
      if (!fmt) throw new AudioFormatError("invalid_wav", "Invalid WAV: the data chunk comes before the fmt chunk.");
      const available = Math.min(size, bytes.byteLength - body);
      data = bytes.subarray(body, body + available - (available % fmt.blockAlign));
    }
    offset = body + size + (size % 2);
  }
  if (!fmt) throw new AudioFormatError("invalid_wav", "Invalid WAV: no fmt chunk.");
  if (!data) throw new AudioFormatError("invalid_wav", "Invalid WAV: no data chunk.");
  const decoded = decodeChannels(fmt, data);
  const info: WavInfo = {
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    encoding: encodingOf(fmt.formatTag),
    formatTag: fmt.formatTag,
    bitsPerSample: fmt.bitsPerSample,
    frames: data.byteLength / fmt.blockAlign,
  };
  if (options.output === "int16") {
    return {
      ...info,
      samples: decoded.map((channel) => (channel instanceof Int16Array ? channel : floatToInt16(channel))),
    };
  }
  return {
    ...info,
    samples: decoded.map((channel) => (channel instanceof Float32Array ? channel : int16ToFloat(channel))),
  };
}

export function fourCC(view: DataView, offset: number): string {
  return String.fromCharCode(
    view.getUint8(offset),
    view.getUint8(offset + 1),
    view.getUint8(offset + 2),
    view.getUint8(offset + 3),
  );
}

export function parseFmt(view: DataView, offset: number, size: number): FmtChunk {
  if (size < 16 || offset + 16 > view.byteLength) {
    throw new AudioFormatError("invalid_wav", `Invalid WAV: fmt chunk of ${size} bytes is too short.`);
  }
  let formatTag = view.getUint16(offset, true);
  const channels = view.getUint16(offset + 2, true);
  const sampleRate = view.getUint32(offset + 4, true);
  const blockAlign = view.getUint16(offset + 12, true);
  const bitsPerSample = view.getUint16(offset + 14, true);
  if (formatTag === FORMAT_EXTENSIBLE) {
    if (size < 40 || offset + 26 > view.byteLength) {
      throw new AudioFormatError("invalid_wav", "Invalid WAV: WAVE_FORMAT_EXTENSIBLE fmt chunk is too short.");
    }
    // The sub-format GUID starts with the plain format tag (…-0000-0010-8000-00aa00389b71).
    formatTag = view.getUint16(offset + 24, true);
  }
  if (channels === 0 || sampleRate === 0) {
    throw new AudioFormatError("invalid_wav", `Invalid WAV: ${channels} channels at ${sampleRate} Hz.`);
  }
  const bytesPerSample = bitsPerSample / 8;
  const supported =
    (formatTag === FORMAT_PCM && [1, 2, 3, 4].includes(bytesPerSample)) ||
    (formatTag === FORMAT_FLOAT && [4, 8].includes(bytesPerSample)) ||
    ((formatTag === FORMAT_ALAW || formatTag === FORMAT_MULAW) && bytesPerSample === 1);
  if (!supported) {
    throw new AudioFormatError(
      "unsupported_wav_format",
      `Unsupported WAV encoding: format tag ${formatTag} with ${bitsPerSample} bits per sample.`,
    );
  }
  if (blockAlign !== channels * bytesPerSample) {
    throw new AudioFormatError(
      "invalid_wav",
      `Invalid WAV: block align ${blockAlign} does not match ${channels} × ${bitsPerSample}-bit samples.`,
    );
  }
  return { formatTag, channels, sampleRate, blockAlign, bitsPerSample };
}

export function encodingOf(formatTag: number): WavEncoding {
  switch (formatTag) {
    case FORMAT_FLOAT:
      return "float";
    case FORMAT_ALAW:
      return "alaw";
    case FORMAT_MULAW:
      return "mulaw";
    default:
      return "pcm";
  }
}

/** De-interleaves `data` into Int16Array channels (formats ≤ 16 bits) or Float32Array (wider). */
export function decodeChannels(fmt: FmtChunk, data: Uint8Array): (Int16Array | Float32Array)[] {
  const { channels, formatTag, bitsPerSample, blockAlign } = fmt;
  const frames = data.byteLength / blockAlign;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const bytesPerSample = bitsPerSample / 8;
  if (formatTag === FORMAT_ALAW || formatTag === FORMAT_MULAW) {
    const decoded = formatTag === FORMAT_MULAW ? mulawDecode(data) : alawDecode(data);
    return deinterleave(decoded, channels, frames);
  }
  if (formatTag === FORMAT_PCM && bytesPerSample <= 2) {
    const out = Array.from({ length: channels }, () => new Int16Array(frames));
    for (let f = 0; f < frames; f++) {
      for (let c = 0; c < channels; c++) {
        const at = f * blockAlign + c * bytesPerSample;
        (out[c] as Int16Array)[f] = bytesPerSample === 1 ? (view.getUint8(at) - 128) << 8 : view.getInt16(at, true);
      }
    }
    return out;
  }
  const read = sampleReader(formatTag, bytesPerSample, view);
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channels; c++) (out[c] as Float32Array)[f] = read(f * blockAlign + c * bytesPerSample);
  }
  return out;
}

function sampleReader(formatTag: number, bytesPerSample: number, view: DataView): (at: number) => number {
  if (formatTag === FORMAT_FLOAT) {
    return bytesPerSample === 4 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  }
  if (bytesPerSample === 3) {
    return (at) => (view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16)) / 8388608;
  }
  return (at) => view.getInt32(at, true) / 2147483648;
}

function deinterleave(interleaved: Int16Array, channels: number, frames: number): Int16Array[] {
  if (channels === 1) return [interleaved.subarray(0, frames)];
  const out = Array.from({ length: channels }, () => new Int16Array(frames));
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channels; c++) (out[c] as Int16Array)[f] = interleaved[f * channels + c] as number;
  }
  return out;
}

/** A 16-bit PCM WAV file (format 1, 44-byte header) of the given channels, all of equal length. */
export function writeWav(sampleRate: number, channels: readonly Int16Array[]): Uint8Array {
  const count = channels.length;
  const frames = channels[0]?.length ?? 0;
  if (count === 0 || channels.some((c) => c.length !== frames)) {
    throw new RangeError("writeWav needs at least one channel, all of the same length.");
  }
  const dataBytes = frames * count * 2;
  const bytes = new Uint8Array(44 + dataBytes);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i));
  };
  ascii(0, "RIFF");
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, FORMAT_PCM, true);
  view.setUint16(22, count, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * count * 2, true);
  view.setUint16(32, count * 2, true);
  view.setUint16(34, 16, true);
  ascii(36, "data");
  view.setUint32(40, dataBytes, true);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < count; c++)
      view.setInt16(44 + (f * count + c) * 2, (channels[c] as Int16Array)[f] as number, true);
  }
  return bytes;
}
