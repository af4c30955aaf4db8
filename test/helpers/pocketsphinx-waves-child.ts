/**
 * The child process of test/security/pocketsphinx-waves.test.ts: real `PocketSphinxEngine`s serving
 * streams of real speech in overlapping waves. A wave opens once half of the previous one has
 * finished, so decoders are created (one idle decoder per thread: most opens run ps_init) while
 * others decode, end their utterances and are freed; every third stream is cut off halfway with
 * `close()`. A fresh engine every few waves starts its threads together, each creating a decoder.
 *
 * `--vocabulary small` gives the engine a dictionary and unigram language model of just the clips'
 * words (from the installed CMU dictionary): ps_init then takes ~50 ms instead of ~1 s, so the
 * library's per-decoder setup (where the old `-logfn` race lived) runs 20× as often.
 *
 * Prints one JSON line per finished wave and a summary; exits 0 when every ended stream's text
 * matches its clip decoded alone, before the waves.
 *
 *   node pocketsphinx-waves-child.js --seconds 30 --streams 6 --workers 2 --waves-per-engine 3 --vocabulary small
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadEvalSet, loadPcm } from "@earshot/bench";
import { FAST_DECODER_ARGS, PocketSphinxEngine, type PocketSphinxOptions } from "@earshot/engines";

const CLIPS = [
  "ps-cards-001",
  "ps-cards-003",
  "ls-1089-134691-0000",
  "ps-goforward",
  "ps-librivox-0880",
  "ps-cards-005",
];
const PIECE_SAMPLES = 1_600;
/** The Debian package pocketsphinx-en-us, which the engine uses by default. */
const MODEL_DIR = "/usr/share/pocketsphinx/model/en-us";
const STREAM_OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: false } as const;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "30" },
    streams: { type: "string", default: "6" },
    workers: { type: "string", default: "2" },
    "waves-per-engine": { type: "string", default: "3" },
    vocabulary: { type: "string", default: "small" },
  },
});
const seconds = Number(values.seconds);
const streamsPerWave = Number(values.streams);
const workers = Number(values.workers);
const wavesPerEngine = Number(values["waves-per-engine"]);

function print(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function rssMb(): number {
  return Math.round(process.memoryUsage.rss() / 2 ** 20);
}

/** A dictionary and a unigram ARPA language model of `words`, in a fresh temporary directory. */
function smallVocabulary(words: ReadonlySet<string>): { dir: string; dict: string; lm: string } {
  const dir = mkdtempSync(join(tmpdir(), "earshot-vocabulary-"));
  const entries = readFileSync(`${MODEL_DIR}/cmudict-en-us.dict`, "utf8")
    .split("\n")
    .filter((line) => words.has(line.slice(0, line.indexOf(" ")).replace(/\(\d+\)$/, "")));
  const unigrams = [...words].map((word) => `-1.5 ${word} 0.0`);
  const arpa = ["\\data\\", `ngram 1=${words.size + 2}`, "", "\\1-grams:", "-1.0 </s>", "-99 <s> 0.0", ...unigrams];
  const dict = join(dir, "words.dict");
  const lm = join(dir, "words.lm");
  writeFileSync(dict, `${entries.join("\n")}\n`);
  writeFileSync(lm, `${[...arpa, "", "\\end\\", ""].join("\n")}`);
  return { dir, dict, lm };
}

/** Push `pcm` at full speed in 100 ms pieces; end (→ the finals' text) or, halfway, close (→ undefined). */
async function runStream(engine: PocketSphinxEngine, pcm: Int16Array, cut: boolean): Promise<string | undefined> {
  const stream = await engine.openStream(STREAM_OPTIONS);
  const finals: string[] = [];
  const reading = (async () => {
    for await (const event of stream) {
      if (event.type === "error") throw event.error;
      if (event.type === "final" && event.text !== "") finals.push(event.text);
    }
  })();
  const stopAt = cut ? Math.floor(pcm.length / 2) : pcm.length;
  for (let at = 0; at < stopAt; at += PIECE_SAMPLES) {
    stream.push(pcm.subarray(at, Math.min(stopAt, at + PIECE_SAMPLES)));
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (cut) {
    stream.close();
    return undefined;
  }
  await stream.end();
  await reading;
  stream.close();
  return finals.join(" ");
}

const set = new Map(loadEvalSet().map((utterance) => [utterance.id, utterance]));
const clips = CLIPS.map((id) => {
  const utterance = set.get(id);
  if (!utterance) throw new Error(`no eval utterance ${id}`);
  return { id, text: utterance.text, pcm: loadPcm(utterance.path) };
});
const vocabulary =
  values.vocabulary === "small" ? smallVocabulary(new Set(clips.flatMap((clip) => clip.text.split(" ")))) : undefined;
const engineOptions: PocketSphinxOptions = {
  workers,
  maxIdleDecoders: 1,
  decoderArgs: FAST_DECODER_ARGS,
  ...(vocabulary ? { dict: vocabulary.dict, lm: vocabulary.lm } : {}),
};

/** Each clip decoded alone, one stream at a time: what every stream of the waves must match. */
async function expectedTranscripts(): Promise<Map<string, string>> {
  const engine = new PocketSphinxEngine(engineOptions);
  await engine.load();
  const expected = new Map<string, string>();
  for (const clip of clips) expected.set(clip.id, (await runStream(engine, clip.pcm, false)) ?? "");
  await engine.close();
  return expected;
}

const expected = await expectedTranscripts();
print({ type: "ready", expected: Object.fromEntries(expected), rssMb: rssMb() });

const mismatches: { wave: number; clip: string; text: string }[] = [];
let ended = 0;
let cut = 0;
let waves = 0;
let engines = 0;

/** `count` waves on `engine`, each opening once half of the previous one has finished. */
async function runWaves(engine: PocketSphinxEngine, count: number): Promise<void> {
  let previousHalf: Promise<unknown> = Promise.resolve();
  const running: Promise<void>[] = [];
  for (let n = 0; n < count; n++) {
    await previousHalf;
    const wave = waves++;
    const streams = Array.from({ length: streamsPerWave }, async (_, i) => {
      const clip = clips[(wave + i) % clips.length] ?? clips[0];
      if (!clip) throw new Error("no clips");
      const text = await runStream(engine, clip.pcm, i % 3 === 2);
      if (text === undefined) cut++;
      else {
        ended++;
        if (text !== expected.get(clip.id)) mismatches.push({ wave, clip: clip.id, text });
      }
    });
    let finished = 0;
    previousHalf = new Promise<void>((resolve) => {
      for (const stream of streams) {
        void stream.then(() => {
          if (++finished >= Math.ceil(streamsPerWave / 2)) resolve();
        }, resolve);
      }
    });
    running.push(Promise.all(streams).then(() => print({ type: "wave", wave, rssMb: rssMb() })));
  }
  await Promise.all(running);
}

const stopAt = Date.now() + seconds * 1000;
while (Date.now() < stopAt) {
  const engine = new PocketSphinxEngine(engineOptions);
  engines++;
  await engine.load();
  await runWaves(engine, wavesPerEngine);
  await engine.close();
}
if (vocabulary) rmSync(vocabulary.dir, { recursive: true });
print({ type: "done", engines, waves, ended, cut, mismatches, rssMb: rssMb() });
process.exitCode = mismatches.length === 0 ? 0 : 1;
