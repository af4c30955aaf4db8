/**
 * `npm run bench:band`: which way of filling the empty 4–8 kHz band of 8 kHz audio gives the
 * lowest WER, on the eval set's telephone copy and on speech that is not in the eval set
 * (band-sets.ts). Each variant's 16 kHz PCM (band-variants.ts) is streamed as pcm_s16le through a
 * real server with the engine `earshot serve` runs (PocketSphinx, `FAST_DECODER_ARGS`, behind the
 * Silero VAD gate), so a row is what the server would decode had it applied that variant to
 * μ-law. Writes the "band-extension" section of docs/benchmarks.md.
 *
 * `--sets eval,other,synthetic` (default all) and `--variants N,M` (indexes into VARIANTS) narrow a
 * run; `--verbose` prints every hypothesis.
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { FAST_DECODER_ARGS, PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import type { Engine, StreamOptions } from "@earshot/engines";
import { createServer, DEFAULT_BAND_EXTENSION_DB } from "@earshot/server";
import { loadEvalSet, loadPcm, type WerResult, wer } from "@earshot/test-support";
import { VadGatedEngine } from "@earshot/vad";
import { type BandClip, type BandSet, evalSet, otherSpeechSet, syntheticSet } from "./band-sets.js";
import { type BandVariant, plain, tiltedMirror, VARIANTS } from "./band-variants.js";
import { API_KEY, runSdkPcm } from "./encodings-run.js";
import { BENCHMARKS_MD, replaceSection } from "./load/doc-section.js";
import { describeMachine, type Machine } from "./machine.js";
import { fixed, loadAverages, table, werCell } from "./markdown.js";

const log = (line: string) => process.stderr.write(`${line}\n`);
/** The variant the server applies (`BandExtender`). */
const SHIPPED = tiltedMirror(0).name;

const SETS: Record<string, () => BandSet> = { eval: evalSet, other: otherSpeechSet, synthetic: syntheticSet };

interface Row {
  readonly label: string;
  readonly gainDb: number | undefined;
  /** One result per set, in the order of the sets. */
  readonly results: readonly WerResult[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sets: { type: "string", default: Object.keys(SETS).join(",") },
      variants: { type: "string" },
      // Only no image and the shipped one, each with the plain and the telephone model, into a
      // section of their own ("The telephone model"), leaving the variants' table as it is.
      telephone: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
    },
  });
  const machine = describeMachine(
    `npm run bench:band${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
  );
  const sets = values.sets.split(",").map((name) => {
    const make = SETS[name];
    if (!make) throw new Error(`unknown set "${name}": ${Object.keys(SETS).join(", ")}`);
    return make();
  });
  for (const set of sets) log(`${set.name}: ${set.clips.length} clips${set.missing ? ` (${set.missing})` : ""}`);
  const variants = values.telephone
    ? [plain, tiltedMirror(DEFAULT_BAND_EXTENSION_DB)]
    : values.variants === undefined
      ? VARIANTS
      : values.variants.split(",").map((i) => VARIANTS[Number(i)] as BandVariant);

  const pocketsphinx = new PocketSphinxEngine({ decoderArgs: FAST_DECODER_ARGS });
  const engine = new VadGatedEngine(pocketsphinx);
  const server = createServer({ engine, apiKeys: [API_KEY] });
  const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
  await server.ready;
  // The variants go as 16 kHz PCM, which the server never treats as telephone audio; this server's
  // engine decodes every stream as it decodes μ-law and A-law ones (the telephone model), so the
  // shipped variant gets a row as the server runs it for 8 kHz streams.
  const telephoneEngine = new VadGatedEngine(telephoneOnly(new PocketSphinxEngine({ decoderArgs: FAST_DECODER_ARGS })));
  const telephoneServer = createServer({ engine: telephoneEngine, apiKeys: [API_KEY] });
  const telephone = await telephoneServer.listen({ host: "127.0.0.1", port: 0 });
  await telephoneServer.ready;
  const decode = async (
    clips: readonly BandClip[],
    pcmOf: (clip: BandClip) => Int16Array | undefined,
    at: string = url,
  ) => {
    const pairs: [string, string][] = [];
    for (const clip of clips) {
      const pcm = pcmOf(clip);
      if (pcm === undefined) continue;
      const run = await runSdkPcm(at, "pcm_s16le", clip.id, pcm);
      pairs.push([clip.text, run.hypothesis]);
      if (values.verbose) log(`  ${clip.id}: ${run.hypothesis}`);
    }
    return wer(pairs);
  };
  const rows: Row[] = [];
  try {
    // The wideband originals: what telephone audio loses, at best.
    const evalOriginals = new Map(loadEvalSet().map((u) => [u.id, loadPcm(u.path)]));
    const originals: WerResult[] = [];
    for (const set of sets) originals.push(await decode(set.clips, (c) => c.pcm16k ?? evalOriginals.get(c.id)));
    rows.push({ label: "16 kHz original (not telephone audio)", gainDb: undefined, results: originals });
    log(`16 kHz original: ${originals.map((r) => fixed(r.wer * 100, 1)).join(" / ")}`);
    for (const variant of variants) {
      const results: WerResult[] = [];
      for (const set of sets) results.push(await decode(set.clips, (c) => variant.apply(c.pcm8k)));
      rows.push({ label: variant.name, gainDb: variant.gainDb, results });
      log(`${variant.name} ${variant.gainDb ?? ""}: ${results.map((r) => fixed(r.wer * 100, 1)).join(" / ")}`);
      // The telephone model was estimated on the shipped variant's output; with no image at all it
      // is what a stream that turns the band extension off gets.
      const shipped = variant.name === SHIPPED && variant.gainDb === DEFAULT_BAND_EXTENSION_DB;
      if (!shipped && variant !== plain) continue;
      const adapted: WerResult[] = [];
      for (const set of sets) adapted.push(await decode(set.clips, (c) => variant.apply(c.pcm8k), telephone.url));
      rows.push({ label: `${variant.name} + the telephone model`, gainDb: variant.gainDb, results: adapted });
      log(`${variant.name} + telephone model: ${adapted.map((r) => fixed(r.wer * 100, 1)).join(" / ")}`);
    }
  } finally {
    await Promise.all([server.close(), telephoneServer.close()]);
  }
  const section = values.telephone ? "band-telephone-model" : "band-extension";
  replaceSection(BENCHMARKS_MD, section, render(machine, sets, rows, values.telephone));
  log(`wrote the ${section} section of ${BENCHMARKS_MD}`);
}

/** `inner` decoding every stream as telephone audio (`StreamOptions.telephone`). */
function telephoneOnly(inner: PocketSphinxEngine): Engine {
  return new Proxy(inner, {
    get(target, property) {
      if (property === "openStream")
        return (options: StreamOptions) => target.openStream({ ...options, telephone: true });
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function render(machine: Machine, sets: readonly BandSet[], rows: readonly Row[], telephone: boolean): string {
  const gain = (db: number | undefined) =>
    db === undefined ? "—" : `${db > 0 ? "+" : ""}${db.toString().replace("-", "−")} dB`;
  const body = rows.map((row) => [
    row.gainDb === DEFAULT_BAND_EXTENSION_DB && row.label === `${SHIPPED} + the telephone model`
      ? `**${row.label}: the default for 8 kHz streams**`
      : row.label,
    gain(row.gainDb),
    ...row.results.map(werCell),
  ]);
  const setLines = sets.map(
    (set) =>
      `- **${set.name}**: ${set.description}; ${set.clips.length} clips, ${set.clips.reduce((n, c) => n + c.text.split(" ").length, 0)} words${set.missing ? ` (${set.missing})` : ""}.`,
  );
  return `${telephone ? "### 8 kHz: the telephone model" : "### 8 kHz band extension: variants"}

\`npm run bench:band\` decodes 8 kHz audio upsampled to 16 kHz with each way of filling the empty
4–8 kHz band (\`bench/src/band-variants.ts\`), streamed as 16 kHz PCM through a real server with the
engine \`earshot serve\` runs (PocketSphinx, \`FAST_DECODER_ARGS\`, Silero VAD gate), with the plain
model, and the shipped variant and no image once more with the telephone model the server gives
8 kHz streams (docs/telephony.md, "The telephone model"). The gain is the
image's level relative to the baseband (for the tilted mirrors, at the 4 kHz edge). Sets:

${setLines.join("\n")}

${table(["image in 4–8 kHz", "gain", ...sets.map((s) => `${s.name} WER`)], body)}

Measured on ${machine.cpuModel} (${machine.logicalCores} logical cores), node ${machine.node}, pocketsphinx
${machine.pocketsphinx}, ${machine.date}, code ${machine.code}; load average (1/5/15 min)
${loadAverages(machine.loadAtStart)} at start, ${loadAverages(loadavg())} at end. Command: \`${machine.command}\`.`;
}

await main();
