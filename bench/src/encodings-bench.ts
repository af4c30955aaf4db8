/**
 * `npm run bench:encodings`: what each wire encoding costs and saves. For pcm_s16le, mulaw, alaw and
 * opus: bytes per second per stream on the wire (binary frames as the SDK sends them, and the seed's
 * hex-in-JSON `audio_chunk` for comparison), and the WER of PocketSphinx on the English eval set
 * sent through that encoding; plus the 8 kHz μ-law copy of the set (shared/eval/en-8k-mulaw, made
 * with sox) sent as a telephone line would, byte for byte. The engine is set up as `earshot serve`
 * sets it up (FAST_DECODER_ARGS behind the Silero VAD gate, packages/cli/src/engines.ts). Writes
 * the "encodings" section of docs/benchmarks.md.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { FAST_DECODER_ARGS, PocketSphinxEngine, VadGatedEngine } from "@earshot/engines";
import { ENCODINGS } from "@earshot/protocol";
import { createServer } from "@earshot/server";
import { type EncodingRow, renderEncodings } from "./encodings-report.js";
import { API_KEY, type FileRun, loadMulaw, runRawMulaw, runSdk } from "./encodings-run.js";
import { loadEvalSet } from "./eval-set.js";
import { BENCHMARKS_MD, replaceSection } from "./load/doc-section.js";
import { describeMachine } from "./machine.js";
import { wer } from "./wer.js";

/** The shared eval folder next to the checkout (see its README): the 8 kHz μ-law set lives there. */
const SHARED_EVAL = new URL("../../../shared/eval/", import.meta.url);

const log = (line: string) => process.stderr.write(`${line}\n`);

function telephoneSet(): { id: string; path: string; text: string; seconds: number }[] {
  const [header, ...rows] = readFileSync(new URL("en-8k-mulaw.tsv", SHARED_EVAL), "utf8").trim().split("\n");
  const columns = (header ?? "").split("\t");
  return rows.map((row) => {
    const cells = row.split("\t");
    const cell = (name: string) => cells[columns.indexOf(name)] ?? "";
    return {
      id: cell("id"),
      path: new URL(cell("path"), SHARED_EVAL).pathname,
      text: cell("text"),
      seconds: Number(cell("seconds")),
    };
  });
}

async function main(): Promise<void> {
  const machine = describeMachine("npm run bench:encodings");
  const engine = new VadGatedEngine(new PocketSphinxEngine({ decoderArgs: FAST_DECODER_ARGS }));
  const server = createServer({ engine, apiKeys: [API_KEY] });
  const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
  await server.ready;
  const utterances = loadEvalSet();
  const seconds = utterances.reduce((n, u) => n + u.seconds, 0);
  const rows: EncodingRow[] = [];
  try {
    for (const encoding of ENCODINGS) {
      const runs: FileRun[] = [];
      for (const utterance of utterances) runs.push(await runSdk(url, encoding, utterance));
      rows.push(row(encoding, "en-16k through the SDK", runs, utterances, seconds));
      log(`${encoding}: WER ${(rows.at(-1)?.wer.wer ?? 0).toFixed(3)}`);
    }
    const telephone = telephoneSet();
    const runs: FileRun[] = [];
    for (const file of telephone) runs.push(await runRawMulaw(url, file.id, loadMulaw(file.path)));
    rows.push(
      row(
        "mulaw",
        "en-8k-mulaw as it is",
        runs,
        telephone,
        telephone.reduce((n, f) => n + f.seconds, 0),
      ),
    );
    log(`mulaw (telephone set): WER ${(rows.at(-1)?.wer.wer ?? 0).toFixed(3)}`);
  } finally {
    await server.close();
  }
  replaceSection(BENCHMARKS_MD, "encodings", renderEncodings({ machine, loadAtEnd: loadavg(), rows }));
  log(`wrote the encodings section of ${BENCHMARKS_MD}`);
}

function row(
  encoding: EncodingRow["encoding"],
  audio: string,
  runs: readonly FileRun[],
  references: readonly { id: string; text: string }[],
  seconds: number,
): EncodingRow {
  const byId = new Map(runs.map((r) => [r.id, r]));
  return {
    encoding,
    audio,
    seconds,
    payloads: runs.flatMap((r) => r.payloads),
    wer: wer(references.map((u) => [u.text, byId.get(u.id)?.hypothesis ?? ""] as const)),
  };
}

await main();
