import { loadavg } from "node:os";
import { FAST_DECODER_ARGS, PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { ENCODING_SAMPLE_RATES, ENCODINGS } from "@earshot/protocol";
import { createServer, DEFAULT_BAND_EXTENSION_DB } from "@earshot/server";
import { loadEvalSet, loadMulaw, loadTelephoneSet, wer } from "@earshot/test-support";
import { VadGatedEngine } from "@earshot/vad";
import { type EncodingRow, renderEncodings } from "./encodings-report.js";
import { API_KEY, type FileRun, runRawMulaw, runSdk } from "./encodings-run.js";
import { BENCHMARKS_MD, replaceSection } from "./load/doc-section.js";
import { describeMachine } from "./machine.js";

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const machine = describeMachine("npm run bench:encodings");
  const engine = new VadGatedEngine(new PocketSphinxEngine({ decoderArgs: FAST_DECODER_ARGS }));
  const server = createServer({ engine, apiKeys: [API_KEY] });
  const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
  await server.ready;
  const utterances = loadEvalSet();
  const seconds = utterances.reduce((n, u) => n + u.seconds, 0);
  const telephone = loadTelephoneSet();
  const telephoneSeconds = telephone.reduce((n, f) => n + f.seconds, 0);
  // The 8 kHz encodings twice: the band extension off, and at the server's default.
  const extensions = ["off", DEFAULT_BAND_EXTENSION_DB] as const;
  const rows: EncodingRow[] = [];
  try {
    for (const encoding of ENCODINGS) {
      const narrow = ENCODING_SAMPLE_RATES[encoding] === 8000;
      for (const bandExtensionDb of narrow ? extensions : [undefined]) {
        const config = bandExtensionDb === undefined ? {} : { band_extension_db: bandExtensionDb };
        const runs: FileRun[] = [];
        for (const utterance of utterances) runs.push(await runSdk(url, encoding, utterance, config));
        rows.push(row(encoding, "en-16k through the SDK", runs, utterances, seconds, bandExtensionDb));
        log(`${encoding} (band extension ${bandExtensionDb ?? "—"}): WER ${(rows.at(-1)?.wer.wer ?? 0).toFixed(3)}`);
      }
    }
    for (const bandExtensionDb of extensions) {
      const runs: FileRun[] = [];
      for (const file of telephone) {
        runs.push(await runRawMulaw(url, file.id, loadMulaw(file.path), { band_extension_db: bandExtensionDb }));
      }
      rows.push(row("mulaw", "en-8k-mulaw as it is", runs, telephone, telephoneSeconds, bandExtensionDb));
      log(`mulaw (telephone set, band extension ${bandExtensionDb}): WER ${(rows.at(-1)?.wer.wer ?? 0).toFixed(3)}`);
    }
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
  bandExtensionDb: number | "off" | undefined,
): EncodingRow {
  const byId = new Map(runs.map((r) => [r.id, r]));
  return {
    encoding,
    audio,
    ...(bandExtensionDb === undefined ? {} : { bandExtensionDb }),
    seconds,
    payloads: runs.flatMap((r) => r.payloads),
    wer: wer(references.map((u) => [u.text, byId.get(u.id)?.hypothesis ?? ""] as const)),
  };
}

await main();
