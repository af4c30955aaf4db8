/**
 * The "encodings" section of docs/benchmarks.md: bytes per second on the wire and WER per encoding.
 *
 * Binary bytes are what the SDK actually sent (every message's size, counted at its transport),
 * plus each WebSocket frame's header (2 bytes, 2 more above 125 bytes of payload, and the 4-byte mask
 * every client frame carries). The hex-in-JSON column is computed for the same audio as the seed
 * client would send it: `{"type":"audio_chunk","audio":"<hex>"}` every 500 ms (pcm_s16le with the
 * seed's 100 ms overlap, the G.711 bytes without), and for opus one packet per message, as the
 * protocol requires.
 */
import type { Encoding } from "@earshot/protocol";
import type { WerResult } from "@earshot/test-support";
import type { Machine } from "./machine.js";
import { fixed, loadAverages, percent, table, werCell } from "./markdown.js";

export interface EncodingRow {
  readonly encoding: Encoding;
  /** Which audio went through, and how. */
  readonly audio: string;
  /** The server's band extension for 8 kHz encodings (dB, or "off"); undefined for 16 kHz ones. */
  readonly bandExtensionDb?: number | "off";
  /**
   * The acoustic model 8 kHz streams decoded with: the plain en-us model, or the one adapted to
   * telephone audio (`earshot serve`'s default); undefined for 16 kHz encodings.
   */
  readonly telephoneModel?: "plain" | "adapted";
  readonly seconds: number;
  /** Every binary message's payload size, in bytes. */
  readonly payloads: readonly number[];
  readonly wer: WerResult;
}

export interface EncodingsResults {
  readonly machine: Machine;
  readonly loadAtEnd: readonly number[];
  readonly rows: readonly EncodingRow[];
}

const JSON_WRAPPER = JSON.stringify({ type: "audio_chunk", audio: "" }).length;
/** Audio bytes in a seed 500 ms chunk, overlap included. */
const SEED_CHUNK_BYTES: Record<Exclude<Encoding, "opus">, number> = {
  pcm_s16le: 0.6 * 32_000,
  mulaw: 0.5 * 8000,
  alaw: 0.5 * 8000,
};

/** Bytes a client→server WebSocket frame adds to its payload. */
export function frameHeaderBytes(payload: number): number {
  return 2 + 4 + (payload > 65_535 ? 8 : payload > 125 ? 2 : 0);
}

const hexMessageBytes = (audioBytes: number) => {
  const text = JSON_WRAPPER + 2 * audioBytes;
  return text + frameHeaderBytes(text);
};

function rates(row: EncodingRow): { payload: number; binary: number; hex: number } {
  const sum = (sizes: readonly number[], f: (n: number) => number) => sizes.reduce((n, size) => n + f(size), 0);
  const payload = sum(row.payloads, (n) => n) / row.seconds;
  const binary = sum(row.payloads, (n) => n + frameHeaderBytes(n)) / row.seconds;
  const hex =
    row.encoding === "opus"
      ? sum(row.payloads, hexMessageBytes) / row.seconds
      : 2 * hexMessageBytes(SEED_CHUNK_BYTES[row.encoding]);
  return { payload, binary, hex };
}

export function bandExtensionCell(db: number | "off" | undefined): string {
  if (db === undefined) return "—";
  return db === "off" ? "off" : `${db.toString().replace("-", "−")} dB`;
}

/** What the table says, with its numbers: G.711's accuracy, Opus's size and framing share. */
function notes(rows: readonly EncodingRow[]): string {
  const of = (encoding: Encoding, extended = false, adapted = false) =>
    rows.find(
      (r) =>
        r.encoding === encoding &&
        (r.bandExtensionDb !== undefined && r.bandExtensionDb !== "off") === extended &&
        (r.telephoneModel === "adapted") === adapted,
    );
  const pcm = of("pcm_s16le");
  const opus = of("opus");
  const mulaw = of("mulaw");
  const mulawExtended = of("mulaw", true);
  const phone = rows.filter((r) => r.encoding === "mulaw" && r.audio.startsWith("en-8k"));
  const phonePlain = phone.find((r) => r.telephoneModel === "plain" && r.bandExtensionDb !== "off");
  const phoneAdapted = phone.find((r) => r.telephoneModel === "adapted");
  if (!pcm || !opus || !mulaw) return "";
  const points = (row: EncodingRow) => fixed((row.wer.wer - pcm.wer.wer) * 100, 1);
  const opusRates = rates(opus);
  const extension = mulawExtended
    ? `
- The band extension (docs/telephony.md, "8 kHz audio": the 0–4 kHz band mirrored into the empty
  4–8 kHz band, tilted down, at ${bandExtensionCell(mulawExtended.bandExtensionDb)}, the server's default) takes μ-law through the SDK from ${percent(mulaw.wer.wer)} to
  ${percent(mulawExtended.wer.wer)} WER; the variants and gains measured, on this set and on other speech, are in
  "8 kHz band extension" below.`
    : "";
  const adaptation =
    phonePlain && phoneAdapted
      ? `
- The adapted model (docs/telephony.md, "The telephone model": one MLLR transform of the en-us
  model's means, estimated on other speakers' telephone-path speech) takes the telephone set, sent
  as a bridge would, from ${percent(phonePlain.wer.wer)} to ${percent(phoneAdapted.wer.wer)} WER with the band extension at the default. 16 kHz
  streams never get it: their rows are the plain model's.`
      : "";
  return `- G.711 without the band extension costs ${points(mulaw)} WER points here: it keeps only the telephone
  band (below 4 kHz), and PocketSphinx's \`en-us\` model is a wideband (16 kHz) one (an 8 kHz acoustic
  model would do better on telephone audio; Debian ships none). The SDK's downsampler and sox make
  the same μ-law bytes (correlation 0.9999 on \`ps-goforward\`), so the μ-law rows of the two sources
  differ by the decoder's and the VAD's sensitivity to the last bits only.${extension}${adaptation}
- Opus (20 ms packets, 20 kbit/s VBR, complexity 5) keeps the wideband spectrum: ${points(opus)} WER points
  for ${fixed(rates(pcm).binary / opusRates.binary, 1)}× fewer bytes on the wire than pcm_s16le. WebSocket framing is
  ${percent(1 - opusRates.payload / opusRates.binary)} of its bytes (50 messages a second); hex in JSON would more than double them.`;
}

export function renderEncodings({ machine, loadAtEnd, rows }: EncodingsResults): string {
  const body = rows.map((row) => {
    const r = rates(row);
    return [
      `\`${row.encoding}\``,
      row.audio,
      bandExtensionCell(row.bandExtensionDb),
      row.telephoneModel ?? "—",
      Math.round(r.payload).toLocaleString("en-US"),
      Math.round(r.binary).toLocaleString("en-US"),
      Math.round(r.hex).toLocaleString("en-US"),
      `${fixed((r.binary * 8) / 1000, 1)} kbit/s`,
      werCell(row.wer),
    ];
  });
  return `## Encodings

\`npm run bench:encodings\` streams the English eval set (${rows[0]?.wer.words ?? 0} words, ${fixed(rows[0]?.seconds ?? 0, 1)} s) through
a real server (in-process, loopback) once per wire encoding, with the SDK's \`encoding\` option (it
encodes the 16 kHz PCM it is given), and the 8 kHz μ-law copy of the set (\`shared/eval/en-8k-mulaw\`,
made with sox) byte for byte over a raw socket, as a telephone bridge would. The 8 kHz encodings
run three times: the plain model with \`band_extension_db: "off"\` and with the server's default,
then the server's default with the telephone-adapted model (\`earshot serve\`'s default for 8 kHz
streams; \`--telephone-mllr off\` gives the plain one). Engine as \`earshot
serve\` runs it: PocketSphinx with \`FAST_DECODER_ARGS\` behind the Silero VAD gate. Bytes per second
per stream, client → server: the binary payloads the SDK sent (counted at its transport), the same
with WebSocket framing (2–4 header bytes and the 4-byte client mask per message), and the seed's
hex-in-JSON \`audio_chunk\` computed for the same audio (every 500 ms; pcm_s16le with the seed's
100 ms overlap; opus one packet per message, as the protocol requires).

${table(
  [
    "encoding",
    "audio",
    "8 kHz band extension",
    "8 kHz model",
    "binary payload B/s",
    "binary on the wire B/s",
    "hex audio_chunk B/s",
    "binary kbit/s",
    "WER (errors/words)",
  ],
  body,
)}

${notes(rows)}

Measured on ${machine.cpuModel} (${machine.logicalCores} logical cores, ${fixed(machine.memoryGiB, 1)} GiB), ${machine.kernel},
node ${machine.node}, pocketsphinx ${machine.pocketsphinx}, ${machine.date}, code ${machine.code}; load average
(1/5/15 min) ${loadAverages(machine.loadAtStart)} at start, ${loadAverages(loadAtEnd)} at end. Command: \`${machine.command}\`.
WER does not depend on timing; the audio is sent 10× faster than real time.`;
}
