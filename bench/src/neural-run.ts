/**
 * `npm run bench:neural [-- --model-dir DIR ...] [--no-streaming] [--out FILE]`: measures every
 * sherpa-onnx model installed by `earshot models pull` (EARSHOT_MODELS_DIR), or the directories
 * given, and writes the "neural" section of docs/benchmarks.md (or FILE). With no model present the
 * section says so. `npm run bench` runs it too, after PocketSphinx.
 */
import { parseArgs } from "node:util";
import { defaultModelsDir, listInstalled } from "@earshot/engine-sherpa";
import { loadEvalSet, loadTelephoneSet } from "@earshot/test-support";
import { BENCHMARKS_MD, replaceSection } from "./load/doc-section.js";
import { describeMachine, type Machine } from "./machine.js";
import { benchNeuralModel, type NeuralModelResult } from "./neural-bench.js";
import { type NeuralReport, renderNeural } from "./neural-report.js";

export interface NeuralRunOptions {
  readonly modelDirs?: readonly string[];
  readonly streaming?: boolean;
  readonly machine: Machine;
  readonly log: (line: string) => void;
}

export async function runNeuralBench(options: NeuralRunOptions): Promise<NeuralReport> {
  const modelsDir = defaultModelsDir();
  const dirs =
    options.modelDirs && options.modelDirs.length > 0
      ? options.modelDirs
      : (await listInstalled(modelsDir)).map((model) => model.dir);
  const results: NeuralModelResult[] = [];
  const failed: { dir: string; reason: string }[] = [];
  for (const dir of dirs) {
    options.log(`neural: ${dir}`);
    try {
      results.push(
        await benchNeuralModel(dir, {
          english: loadEvalSet(),
          telephone: loadTelephoneSet(),
          ...(options.streaming === undefined ? {} : { streaming: options.streaming }),
          log: options.log,
        }),
      );
    } catch (error) {
      failed.push({ dir, reason: (error as Error).message });
      options.log(`neural: ${dir} not measured: ${(error as Error).message}`);
    }
  }
  if (dirs.length === 0) options.log(`neural: not measured: no model present in ${modelsDir}`);
  return { machine: options.machine, searched: modelsDir, results, failed };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "model-dir": { type: "string", multiple: true },
      "no-streaming": { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const report = await runNeuralBench({
    modelDirs: values["model-dir"] ?? [],
    streaming: !values["no-streaming"],
    machine: describeMachine(
      `npm run bench:neural${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    ),
    log,
  });
  replaceSection(values.out ?? BENCHMARKS_MD, "neural", renderNeural(report));
  log(`wrote the neural section of ${values.out ?? BENCHMARKS_MD}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `bench:neural failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
