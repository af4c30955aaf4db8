/**
 * Sample-format conversions. Float samples are in −1..1; PCM16 maps them by ×32768 (clamped), so
 * int16 → float → int16 gives back the same samples exactly.
 */

export function floatToInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = floatSampleToInt16(samples[i] as number);
  return out;
}

export function floatSampleToInt16(sample: number): number {
  const scaled = Math.round(sample * 32768);
  return Math.min(32767, Math.max(-32768, scaled));
}

export function int16ToFloat(samples: Int16Array): Float32Array {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = (samples[i] as number) / 32768;
  return out;
}

/** The average of the channels as float samples (a fresh array; channels may differ in type). */
export function downmixToFloat(channels: readonly (Float32Array | Int16Array)[]): Float32Array {
  const first = channels[0];
  if (first === undefined) return new Float32Array(0);
  const length = Math.min(...channels.map((c) => c.length));
  const out = new Float32Array(length);
  for (const channel of channels) {
    const scale = (channel instanceof Int16Array ? 1 / 32768 : 1) / channels.length;
    for (let i = 0; i < length; i++) out[i] = (out[i] as number) + (channel[i] as number) * scale;
  }
  return out;
}

/** The parts one after another in a new array. */
export function concatPcm(...parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Frames of one sample per channel, channel after channel (what a stereo WAV's data holds). */
export function interleavePcm(channels: readonly Int16Array[]): Int16Array {
  const count = channels.length;
  const length = Math.min(...channels.map((c) => c.length));
  const out = new Int16Array(count === 0 ? 0 : length * count);
  channels.forEach((channel, c) => {
    for (let i = 0; i < length; i++) out[i * count + c] = channel[i] as number;
  });
  return out;
}

/**
 * Interleaved samples (PCM16 samples or G.711 bytes) back into one array per channel. A trailing
 * partial frame is left out: the caller keeps it for the next call.
 */
export function deinterleavePcm<T extends Int16Array | Uint8Array>(interleaved: T, channels: number): T[] {
  const frames = Math.floor(interleaved.length / channels);
  const make = (): T => (interleaved instanceof Int16Array ? new Int16Array(frames) : new Uint8Array(frames)) as T;
  const out = Array.from({ length: channels }, make);
  for (let c = 0; c < channels; c++) {
    const channel = out[c] as T;
    for (let i = 0; i < frames; i++) channel[i] = interleaved[i * channels + c] as number;
  }
  return out;
}
