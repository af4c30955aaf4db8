/** The "Neural models (sherpa-onnx)" section of docs/benchmarks.md. */

import type { Machine } from "./machine.js";
import { ms, msList, percent, table, werCell } from "./markdown.js";
import type { NeuralModelResult } from "./neural-bench.js";

export interface NeuralReport {
  readonly machine: Machine;
  /** Where models were looked for, for the "no model present" row. */
  readonly searched: string;
  readonly results: readonly NeuralModelResult[];
  /** Models that could not be measured (failed to load), with why. */
  readonly failed: ReadonlyArray<{ readonly dir: string; readonly reason: string }>;
}

export function renderNeural(report: NeuralReport): string {
  const { machine } = report;
  const notMeasured = (model: string, languages: string, why: string) => [
    model,
    languages,
    `not measured: ${why}`,
    ...Array<string>(5).fill(""),
  ];
  const rows = [
    ...(report.results.length === 0 && report.failed.length === 0
      ? [notMeasured("—", "—", `no model present (looked in ${report.searched})`)]
      : []),
    ...report.results.map((r) => [
      `\`${r.name}\``,
      r.languages.join(", "),
      r.english ? werCell(r.english.wer) : "not measured",
      r.telephone ? percent(r.telephone.wer.wer) : "not measured",
      r.english ? r.english.rtf.toFixed(3) : "—",
      r.throughput.map((t) => t.perCore.toFixed(1)).join(" / "),
      r.streaming ? msList([r.streaming.finalP50Ms, r.streaming.finalP95Ms]) : "not measured",
      r.streaming ? ms(r.streaming.firstPartialP50Ms) : "not measured",
    ]),
    ...report.failed.map((f) => notMeasured(`\`${f.dir}\``, "", f.reason)),
  ];
  const notes = report.results.flatMap((r) => r.notes.map((note) => `- \`${r.name}\`: ${note}`));
  return [
    "## Neural models (sherpa-onnx)",
    "",
    `Measured by \`${machine.command}\` on ${machine.date.slice(0, 10)}: ${machine.cpuModel}, ${machine.logicalCores} logical cores, Node ${machine.node}, code ${machine.code}.`,
    "Engine alone: each eval file pushed at full speed, one at a time (WER, real-time factor). Throughput: N files decoded at once, batched by the host process; *per core* is audio seconds per CPU second of the host. Streaming: the SDK's 20 ms frames paced like a microphone through the real server. The PocketSphinx rows for the same set are in the sections above (baseline 31.5%).",
    "",
    table(
      [
        "model",
        "languages",
        "English WER (engine alone)",
        "8 kHz μ-law WER",
        "RTF (1 stream)",
        "real-time streams per core at 1 / 4 / 8 streams",
        "streaming final p50 / p95",
        "first partial p50",
      ],
      rows,
    ),
    ...(notes.length > 0 ? ["", ...notes] : []),
  ].join("\n");
}
