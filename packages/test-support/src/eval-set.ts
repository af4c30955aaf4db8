/** The English eval set copied into test/fixtures/eval (see its README for sources and licenses). */
import { readFileSync } from "node:fs";
import { mulawEncode, readWav } from "@earshot/audio";

export const EVAL_DIR = new URL("../../../test/fixtures/eval/", import.meta.url);

export interface Utterance {
  readonly id: string;
  readonly path: string;
  readonly seconds: number;
  /** Normalized reference transcript. */
  readonly text: string;
}

export function loadEvalSet(): Utterance[] {
  const [header, ...rows] = readFileSync(new URL("en-16k.tsv", EVAL_DIR), "utf8").trim().split("\n");
  const columns = (header ?? "").split("\t");
  const at = (name: string) => columns.indexOf(name);
  return rows.map((row) => {
    const cells = row.split("\t");
    const path = cells[at("path")] ?? "";
    return {
      id: cells[at("id")] ?? "",
      path: new URL(path, EVAL_DIR).pathname,
      seconds: Number(cells[at("seconds")]),
      text: cells[at("text")] ?? "",
    };
  });
}

export function loadPcm(path: string): Int16Array {
  const wav = readWav(readFileSync(path), { output: "int16" });
  if (wav.sampleRate !== 16_000 || wav.channels !== 1) throw new Error(`${path}: expected 16 kHz mono`);
  const samples = wav.samples[0];
  if (!samples) throw new Error(`${path}: no samples`);
  return samples;
}

/**
 * Where speech starts and ends in a clip, in ms: the first and last 10 ms frame whose RMS reaches
 * 10% of the clip's loudest frames (95th percentile). Used as "speech onset" and "end of speech"
 * for latency; read speech with quiet pauses makes this accurate to a frame or two.
 */
export function speechBounds(pcm: Int16Array): { onsetMs: number; endMs: number } {
  const frame = 160;
  const rms: number[] = [];
  for (let i = 0; i + frame <= pcm.length; i += frame) {
    let sum = 0;
    for (let j = i; j < i + frame; j++) sum += (pcm[j] ?? 0) ** 2;
    rms.push(Math.sqrt(sum / frame));
  }
  const sorted = [...rms].sort((a, b) => a - b);
  const threshold = 0.1 * (sorted[Math.floor(sorted.length * 0.95)] ?? 0);
  const first = rms.findIndex((r) => r >= threshold);
  const last = rms.findLastIndex((r) => r >= threshold);
  return { onsetMs: Math.max(0, first) * 10, endMs: (last + 1) * 10 };
}

/** The 8 kHz μ-law telephone copies of the English set (test/fixtures/eval/en-8k-mulaw; made with sox). */
export function loadTelephoneSet(): Utterance[] {
  const [header, ...rows] = readFileSync(new URL("en-8k-mulaw.tsv", EVAL_DIR), "utf8").trim().split("\n");
  const columns = (header ?? "").split("\t");
  return rows.map((row) => {
    const cells = row.split("\t");
    const cell = (name: string) => cells[columns.indexOf(name)] ?? "";
    return {
      id: cell("id"),
      path: new URL(cell("path"), EVAL_DIR).pathname,
      text: cell("text"),
      seconds: Number(cell("seconds")),
    };
  });
}

/** The μ-law bytes of an 8 kHz μ-law WAV (decoding and re-encoding G.711 gives the same bytes). */
export function loadMulaw(path: string): Uint8Array {
  const wav = readWav(readFileSync(path), { output: "int16" });
  const samples = wav.samples[0];
  if (wav.encoding !== "mulaw" || wav.sampleRate !== 8000 || !samples) throw new Error(`${path}: not 8 kHz μ-law`);
  return mulawEncode(samples);
}
