/**
 * What the package's tests that decode real speech share: the eval clips in the repo
 * (test/fixtures/eval/en-16k) and the engine's decoder arguments as `-flag value` pairs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readWav } from "@earshot/audio";
import { DEFAULT_MODEL_DIR, DEFAULT_VAD_POSTSPEECH_FRAMES, FAST_DECODER_ARGS } from "./engine.js";

export const EVAL_DIR = new URL("../../../test/fixtures/eval/en-16k/", import.meta.url);

/** The engine's decoder arguments with internal endpointing and `FAST_DECODER_ARGS` (engine.ts). */
export const TEST_DECODER_ARGS = {
  ...FAST_DECODER_ARGS,
  hmm: `${DEFAULT_MODEL_DIR}/en-us`,
  lm: `${DEFAULT_MODEL_DIR}/en-us.lm.bin`,
  dict: `${DEFAULT_MODEL_DIR}/cmudict-en-us.dict`,
  fwdflat: "no",
  vad_postspeech: String(DEFAULT_VAD_POSTSPEECH_FRAMES),
};

/** The 16 kHz samples of the eval clip `id` (or file name `id.wav`). */
export function loadClip(id: string): Int16Array {
  const name = id.endsWith(".wav") ? id : `${id}.wav`;
  const wav = readWav(readFileSync(new URL(name, EVAL_DIR)), { output: "int16" });
  const samples = wav.samples[0];
  assert.ok(wav.sampleRate === 16_000 && samples, `${id}: expected 16 kHz audio`);
  return samples;
}
