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
  // Two servers: as `earshot serve` runs (telephone streams decode with the adapted model), and with
  // the plain model for every stream, so the 8 kHz rows show both.
  const start = async (telephoneMllr?: false) => {
    const engine = new VadGatedEngine(
      new PocketSphinxEngine({ decoderArgs: FAST_DECODER_ARGS, ...(telephoneMllr === false ? { telephoneMllr } : {}) }),
    );
    const server = createServer({ engine, apiKeys: [API_KEY] });
    const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
    await server.ready;
    return { server, url };
  };
  const adapted = await start();
  const plain = await start(false);
  const utterances = loadEvalSet();
  const seconds = utterances.reduce((n, u) => n + u.seconds, 0);
  const telephone = loadTelephoneSet();
  const telephoneSeconds = telephone.reduce((n, f) => n + f.seconds, 0);
  // The 8 kHz encodings three times: the plain model with the band extension off (as before either
  // existed) and at the server's default, then the default with the adapted model (`earshot serve`).
  const variants = [
    { bandExtensionDb: "off", model: "plain", url: plain.url },
    { bandExtensionDb: DEFAULT_BAND_EXTENSION_DB, model: "plain", url: plain.url },
    { bandExtensionDb: DEFAULT_BAND_EXTENSION_DB, model: "adapted", url: adapted.url },
  ] as const;
  const rows: EncodingRow[] = [];
  try {
    for (const encoding of ENCODINGS) {
      const narrow = ENCODING_SAMPLE_RATES[encoding] === 8000;
      for (const variant of narrow ? variants : [undefined]) {
        const config = variant === undefined ? {} : { band_extension_db: variant.bandExtensionDb };
        const runs: FileRun[] = [];
        for (const utterance of utterances) {
          runs.push(await runSdk(variant?.url ?? adapted.url, encoding, utterance, config));
        }
        rows.push(row(encoding, "en-16k through the SDK", runs, utterances, seconds, variant));
        log(
          `${encoding} (${variant ? `${variant.bandExtensionDb}, ${variant.model}` : "—"}): WER ${(rows.at(-1)?.wer.wer ?? 0).toFixed(3)}`,
        );
      }
    }
    for (const variant of variants) {
      const runs: FileRun[] = [];
      for (const file of telephone) {
        runs.push(
          await runRawMulaw(variant.url, file.id, loadMulaw(file.path), { band_extension_db: variant.bandExtensionDb }),
        );
      }
      rows.push(row("mulaw", "en-8k-mulaw as it is", runs, telephone, telephoneSeconds, variant));
      log(
        `mulaw (telephone set, ${variant.bandExtensionDb}, ${variant.model}): WER ${(rows.at(-1)?.wer.wer ?? 0).toFixed(3)}`,
      );
    }
  } finally {
    await Promise.all([adapted.server.close(), plain.server.close()]);
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
  variant: { readonly bandExtensionDb: number | "off"; readonly model: "plain" | "adapted" } | undefined,
): EncodingRow {
  const byId = new Map(runs.map((r) => [r.id, r]));
  return {
    encoding,
    audio,
    ...(variant === undefined ? {} : { bandExtensionDb: variant.bandExtensionDb, telephoneModel: variant.model }),
    seconds,
    payloads: runs.flatMap((r) => r.payloads),
    wer: wer(references.map((u) => [u.text, byId.get(u.id)?.hypothesis ?? ""] as const)),
  };
}

await main();
