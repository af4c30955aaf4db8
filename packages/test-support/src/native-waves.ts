/**
 * The workloads `npm run soak:native` (soak-native.ts) runs in child processes, on real
 * `PocketSphinxEngine`s and real speech. Prints JSON lines.
 *
 * - `waves`: streams in overlapping waves for `--seconds`: a wave opens once half of the previous one
 *   has finished, so decoders are created (one idle decoder per process: most opens run ps_init)
 *   while others decode, end their utterances and are freed; every third stream is cut off halfway
 *   with `close()`; a fresh engine every `--waves-per-engine` waves starts its decoding processes
 *   together.
 *   `--vocabulary small` (a dictionary and unigram model of the clips' words) makes ps_init take
 *   ~50 ms instead of ~1 s, so decoders are created 20× as often. Exits 1 if a transcript differs
 *   from its clip decoded alone; a decoding process that crashes fails its streams, whose error
 *   ends this workload with exit code 1.
 * - `churn`: `--decoders` streams open at once on 2 decoding processes (a decoder each), all closed,
 *   then the engine closed, with the RSS of this process and its decoding processes at each step:
 *   whether freed decoders' memory goes back.
 *
 *   node packages/test-support/dist/native-waves.js waves [--seconds 60] [--streams 6] [--workers 2] [--waves-per-engine 3] [--vocabulary small|full]
 *   node packages/test-support/dist/native-waves.js churn [--decoders 30]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FAST_DECODER_ARGS, PocketSphinxEngine, type PocketSphinxOptions } from "@earshot/engine-pocketsphinx";
import { loadEvalSet, loadPcm } from "./eval-set.js";

const CLIPS = [
  "ps-cards-001",
  "ps-cards-003",
  "ls-1089-134691-0000",
  "ps-goforward",
  "ps-librivox-0880",
  "ps-cards-005",
];
/** The Debian package pocketsphinx-en-us, which the engine uses by default. */
const MODEL_DIR = "/usr/share/pocketsphinx/model/en-us";
const PIECE_SAMPLES = 1_600;
const STREAM_OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: false } as const;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: "string", default: "60" },
    streams: { type: "string", default: "6" },
    workers: { type: "string", default: "2" },
    "waves-per-engine": { type: "string", default: "3" },
    vocabulary: { type: "string", default: "small" },
    decoders: { type: "string", default: "30" },
  },
});

function print(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** RSS of this process and of `engine`'s decoding processes, where the decoders live. */
function rssMb(engine?: PocketSphinxEngine): number {
  let bytes = process.memoryUsage.rss();
  for (const { pid } of engine?.processes ?? []) bytes += processRssBytes(pid);
  return Math.round(bytes / 2 ** 20);
}

/** 0 for a process gone meanwhile. */
function processRssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

function loadClips(): { id: string; text: string; pcm: Int16Array }[] {
  const set = new Map(loadEvalSet().map((utterance) => [utterance.id, utterance]));
  return CLIPS.map((id) => {
    const utterance = set.get(id);
    if (!utterance) throw new Error(`no eval utterance ${id}`);
    return { id, text: utterance.text, pcm: loadPcm(utterance.path) };
  });
}

async function waves(): Promise<void> {
  const seconds = Number(values.seconds);
  const streamsPerWave = Number(values.streams);
  const wavesPerEngine = Number(values["waves-per-engine"]);
  const clips = loadClips();
  const vocabulary =
    values.vocabulary === "small" ? smallVocabulary(new Set(clips.flatMap((clip) => clip.text.split(" ")))) : undefined;
  const options: PocketSphinxOptions = {
    workers: Number(values.workers),
    // One warm decoder per process; the rest are made by the maker thread and freed when idle, so
    // waves keep creating and freeing decoders beside decoding ones.
    decoders: Number(values.workers),
    idleDecoderMs: 0,
    decoderArgs: FAST_DECODER_ARGS,
    ...(vocabulary ? { dict: vocabulary.dict, lm: vocabulary.lm } : {}),
  };

  // Each clip decoded alone, one stream at a time: what every stream of the waves must match.
  const expected = new Map<string, string>();
  const reference = new PocketSphinxEngine(options);
  await reference.load();
  for (const clip of clips) expected.set(clip.id, (await runStream(reference, clip.pcm, false)) ?? "");
  await reference.close();
  print({ type: "ready", rssMb: rssMb() });

  const totals = { engines: 0, waves: 0, ended: 0, cut: 0, mismatches: 0 };
  const runWaves = async (engine: PocketSphinxEngine): Promise<void> => {
    let previousHalf: Promise<unknown> = Promise.resolve();
    const running: Promise<void>[] = [];
    for (let n = 0; n < wavesPerEngine; n++) {
      await previousHalf;
      const wave = totals.waves++;
      const streams = Array.from({ length: streamsPerWave }, async (_, i) => {
        const clip = clips[(wave + i) % clips.length] ?? clips[0];
        if (!clip) throw new Error("no clips");
        const text = await runStream(engine, clip.pcm, i % 3 === 2);
        if (text === undefined) totals.cut++;
        else {
          totals.ended++;
          if (text !== expected.get(clip.id)) {
            totals.mismatches++;
            print({ type: "mismatch", wave, clip: clip.id, text, expected: expected.get(clip.id) });
          }
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
      running.push(Promise.all(streams).then(() => print({ type: "wave", wave, rssMb: rssMb(engine) })));
    }
    await Promise.all(running);
  };

  const stopAt = Date.now() + seconds * 1000;
  while (Date.now() < stopAt) {
    const engine = new PocketSphinxEngine(options);
    totals.engines++;
    await engine.load();
    await runWaves(engine);
    await engine.close();
  }
  if (vocabulary) rmSync(vocabulary.dir, { recursive: true });
  print({ type: "done", ...totals, rssMb: rssMb() });
  process.exitCode = totals.mismatches === 0 ? 0 : 1;
}

async function churn(): Promise<void> {
  const count = Number(values.decoders);
  const [clip] = loadClips();
  if (!clip) throw new Error("no clips");
  let peakMb = 0;
  const engine = new PocketSphinxEngine({ workers: 2, decoderArgs: FAST_DECODER_ARGS });
  const sampler = setInterval(() => {
    peakMb = Math.max(peakMb, rssMb(engine));
  }, 50);
  await engine.load();
  const loadedMb = rssMb(engine);
  const streams = [];
  for (let i = 0; i < count; i++) streams.push(await engine.openStream(STREAM_OPTIONS));
  await Promise.all(
    streams.map(async (stream) => {
      const reading = (async () => {
        for await (const event of stream) if (event.type === "error") throw event.error;
      })();
      stream.push(clip.pcm);
      await stream.end();
      await reading;
      stream.close();
    }),
  );
  await sleep(1000);
  const streamsClosedMb = rssMb(engine);
  await engine.close();
  await sleep(1000);
  clearInterval(sampler);
  print({ type: "churn", decoders: count, loadedMb, peakMb, streamsClosedMb, engineClosedMb: rssMb() });
}

if (positionals[0] === "waves") await waves();
else if (positionals[0] === "churn") await churn();
else throw new Error("usage: native-waves.js waves|churn [options]");
