/**
 * The telephone model (`TELEPHONE_MLLR`, docs/telephony.md "The telephone model") against the real
 * library: a decoder adapted for a telephone stream and then returned to the plain model decodes
 * 16 kHz speech exactly as a decoder that was never adapted, and the adaptation changes what
 * telephone audio decodes to, for the better.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { BandExtender, concatPcm, Resampler, readWav } from "@earshot/audio";
import type { EngineStream } from "@earshot/engines";
import { Decoder } from "./binding.js";
import { loadClip, TEST_DECODER_ARGS } from "./clips.test.helper.js";
import { IDENTITY_MLLR, PocketSphinxEngine, TELEPHONE_MLLR } from "./engine.js";

const TELEPHONE_DIR = new URL("../../../test/fixtures/eval/en-8k-mulaw/", import.meta.url);
const TELEPHONE_TSV = new URL("../../../test/fixtures/eval/en-8k-mulaw.tsv", import.meta.url);
/** DecodingSession's block size with internal endpointing: 20 ms. */
const BLOCK = 320;
const WIDEBAND = ["ps-goforward", "ls-1089-134686-0000"];
const PHONE = ["jfk-ask-not", "ls-1089-134686-0000", "ls-1221-135766-0001", "ps-librivox-0870"];

/** The telephone copy of an eval clip as the server feeds a μ-law stream to the engine. */
function telephoneClip(id: string): Int16Array {
  const wav = readWav(readFileSync(new URL(`${id}.wav`, TELEPHONE_DIR)), { output: "int16" });
  const narrow = wav.samples[0];
  assert.ok(wav.sampleRate === 8000 && narrow, `${id}: expected 8 kHz audio`);
  const up = new Resampler({ inputRate: 8000, outputRate: 16_000 });
  return new BandExtender({ gainDb: 0 }).process(concatPcm(up.push(narrow), up.flush()));
}

const references = new Map(
  readFileSync(TELEPHONE_TSV, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split("\t"))
    .map(([id, , , text]) => [id ?? "", (text ?? "").split(" ")] as const),
);

/** One stream, one utterance: the hypothesis and every word with its frames and confidence. */
function decode(decoder: Decoder, samples: Int16Array) {
  decoder.startStream();
  for (let at = 0; at < samples.length; at += BLOCK) decoder.process(samples.subarray(at, at + BLOCK));
  decoder.endUtterance();
  return { hypothesis: decoder.hypothesis(), words: decoder.words() };
}

/** Hypothesis words that the reference has (each reference word counts once). */
function wordsFound(id: string, hypothesis: string): number {
  const left = [...(references.get(id) ?? [])];
  let found = 0;
  for (const word of hypothesis.split(" ")) {
    const at = left.indexOf(word);
    if (at < 0) continue;
    left.splice(at, 1);
    found++;
  }
  return found;
}

describe("the telephone model", () => {
  const decoders: Decoder[] = [];
  after(() => {
    for (const decoder of decoders) decoder.free();
  });

  test("a decoder returned to the plain model decodes 16 kHz speech exactly as one never adapted", () => {
    const plain = new Decoder(TEST_DECODER_ARGS);
    const moved = new Decoder(TEST_DECODER_ARGS);
    decoders.push(plain, moved);
    // The same streams on both (a decoder's noise estimate carries over between streams); only the
    // telephone stream in the middle is decoded with the transform on `moved`.
    const wideband = WIDEBAND.map(loadClip);
    const before = wideband.map((clip) => decode(plain, clip));
    assert.deepEqual(
      wideband.map((clip) => decode(moved, clip)),
      before,
    );
    const phone = telephoneClip("jfk-ask-not");
    const plainPhone = decode(plain, phone);
    moved.useMllr(TELEPHONE_MLLR, IDENTITY_MLLR);
    assert.equal(moved.mllr, TELEPHONE_MLLR);
    const adaptedPhone = decode(moved, phone);
    assert.notDeepEqual(adaptedPhone.words, plainPhone.words, "the transform changes the telephone stream's words");
    moved.useMllr(undefined, IDENTITY_MLLR);
    assert.equal(moved.mllr, undefined);
    const after = wideband.map((clip) => decode(plain, clip));
    assert.ok(
      after.some((clip) => clip.words.length > 0),
      "the clips have words",
    );
    assert.deepEqual(
      wideband.map((clip) => decode(moved, clip)),
      after,
    );
  });

  test("telephone audio decoded with the transform finds more of the reference's words", () => {
    const plain = new Decoder(TEST_DECODER_ARGS);
    const adapted = new Decoder(TEST_DECODER_ARGS);
    decoders.push(plain, adapted);
    adapted.useMllr(TELEPHONE_MLLR, IDENTITY_MLLR);
    // Asking for the transform it has already is free and changes nothing.
    adapted.useMllr(TELEPHONE_MLLR, IDENTITY_MLLR);
    let plainFound = 0;
    let adaptedFound = 0;
    for (const id of PHONE) {
      const clip = telephoneClip(id);
      plainFound += wordsFound(id, decode(plain, clip).hypothesis);
      adaptedFound += wordsFound(id, decode(adapted, clip).hypothesis);
    }
    assert.ok(adaptedFound > plainFound, `adapted found ${adaptedFound} reference words, plain ${plainFound}`);
  });
});

/** All of a stream's finals, joined. */
async function transcribe(stream: EngineStream, pcm: Int16Array): Promise<string> {
  for (let at = 0; at < pcm.length; at += 1_600) stream.push(pcm.subarray(at, at + 1_600));
  const ended = stream.end();
  const texts: string[] = [];
  for await (const event of stream) if (event.type === "final" && event.text) texts.push(event.text);
  await ended;
  return texts.join(" ");
}

test("the engine decodes telephone streams with the transform and the others without, on one decoder", async () => {
  // One process, one decoder: every stream below is decoded by the same decoder, in turn.
  const engine = new PocketSphinxEngine({ workers: 1, decoders: 1, maxDecoders: 1 });
  const options = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true } as const;
  try {
    await engine.load();
    const wideband = loadClip("ls-1089-134686-0000");
    const phone = telephoneClip("jfk-ask-not");
    const before = await transcribe(await engine.openStream(options), wideband);
    const adapted = await transcribe(await engine.openStream({ ...options, telephone: true }), phone);
    const plain = await transcribe(await engine.openStream(options), phone);
    const after = await transcribe(await engine.openStream(options), wideband);
    assert.ok(before.length > 0 && adapted.length > 0, `${before} / ${adapted}`);
    assert.notEqual(adapted, plain, "a telephone stream decodes with the transform");
    assert.equal(after, before, "the next wideband stream decodes with the plain model again");
  } finally {
    await engine.close();
  }
});
