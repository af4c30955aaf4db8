import { FAST_DECODER_ARGS, PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { type DecodingMethod, defaultModelsDir, listInstalled, SherpaOnnxEngine } from "@earshot/engine-sherpa";
import { type Engine, EngineRouter, TestEngine } from "@earshot/engines";
import { VadGatedEngine } from "@earshot/vad";
import { CliError } from "./cli-error.js";

export const ENGINE_NAMES = ["pocketsphinx", "sherpa-onnx", "test"] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export interface EngineChoice {
  /**
   * Put the Silero VAD gate in front (only speech is decoded; the gate closes utterances). Default:
   * on for pocketsphinx, off for the test engine (whose energy rule is its own endpointing).
   */
  readonly vad?: boolean;
  /** The gate's default silence that ends an utterance; streams may set their own. */
  readonly endpointingMs?: number;
  /** sherpa-onnx: model directories (installed by `earshot models pull`, or placed by hand). */
  readonly modelDirs?: readonly string[];
  /** sherpa-onnx: greedy_search (default) or modified_beam_search (needed for keyterms). */
  readonly decodingMethod?: DecodingMethod;
  /** pocketsphinx: warm decoders (default 8 per decoding process). */
  readonly decoders?: number;
  /** pocketsphinx: decoders at most (default 10 per decoding process). */
  readonly maxDecoders?: number;
  /**
   * pocketsphinx: the MLLR transform 8 kHz (telephone) streams decode with, or false for the plain
   * model; default the shipped `TELEPHONE_MLLR` (docs/telephony.md, "The telephone model").
   */
  readonly telephoneMllr?: string | false;
}

/**
 * The engine `--engine` names: one name, or several separated by commas, served side by side by
 * an EngineRouter (the first engine's first model is the default model).
 */
export function createEngine(spec: string, choice: EngineChoice = {}): Engine {
  const names = spec.split(",").map((name) => name.trim());
  if (new Set(names).size !== names.length) throw new CliError(`--engine "${spec}" names an engine twice`);
  const engines = names.flatMap((name) => createEngines(name, choice));
  return engines.length === 1 && engines[0] ? engines[0] : new EngineRouter(engines);
}

/**
 * The models `--engine sherpa-onnx` serves: `--model` names (installed in the models cache) and
 * `--model-dir` directories; with neither, every model installed in the cache.
 */
export async function sherpaModelDirs(
  names: readonly string[],
  dirs: readonly string[],
  modelsDir: string = defaultModelsDir(),
): Promise<string[]> {
  const installed = await listInstalled(modelsDir);
  if (names.length === 0 && dirs.length === 0) {
    if (installed.length === 0) {
      throw new CliError(
        `no sherpa-onnx model is installed in ${modelsDir}: run \`earshot models pull zipformer-en-2023-06-26\` (\`earshot models list\` shows them all) or pass --model-dir DIR`,
        { exitCode: 1 },
      );
    }
    return installed.map((model) => model.dir);
  }
  const named = names.map((name) => {
    const model = installed.find((candidate) => candidate.name === name);
    if (!model) {
      throw new CliError(
        `model "${name}" is not installed in ${modelsDir}: run \`earshot models pull ${name}\`, or pass --model-dir DIR`,
        { exitCode: 1 },
      );
    }
    return model.dir;
  });
  return [...named, ...dirs];
}

function createEngines(name: string, choice: EngineChoice): Engine[] {
  if (name === "sherpa-onnx") {
    const models = choice.modelDirs ?? [];
    if (models.length === 0) throw new CliError("the sherpa-onnx engine needs at least one model directory");
    // One engine (host process) per model: a model that fails its checks, or a native fault while
    // decoding, takes down only its own streams. Its own decoder-driven endpointing; no gate unless asked.
    return models.map((dir) => {
      const sherpa = new SherpaOnnxEngine({
        models: [dir],
        ...(choice.endpointingMs === undefined ? {} : { endpointingMs: choice.endpointingMs }),
        ...(choice.decodingMethod === undefined ? {} : { decodingMethod: choice.decodingMethod }),
      });
      return choice.vad === true ? gateOf(sherpa, choice) : sherpa;
    });
  }
  return [createOneEngine(name, choice)];
}

function gateOf(inner: Engine, choice: EngineChoice): Engine {
  return new VadGatedEngine(inner, choice.endpointingMs === undefined ? {} : { endpointingMs: choice.endpointingMs });
}

function createOneEngine(name: string, choice: EngineChoice): Engine {
  const gate = (inner: Engine) => gateOf(inner, choice);
  switch (name) {
    case "pocketsphinx": {
      // Behind the gate, PocketSphinx keeps its own short-pause endpointing (docs/engines.md).
      // The speed-tuned decoder settings (measured in docs/benchmarks.md, "PocketSphinx tuning").
      const pocketsphinx = new PocketSphinxEngine({
        decoderArgs: FAST_DECODER_ARGS,
        ...(choice.decoders === undefined ? {} : { decoders: choice.decoders }),
        ...(choice.maxDecoders === undefined ? {} : { maxDecoders: choice.maxDecoders }),
        ...(choice.telephoneMllr === undefined ? {} : { telephoneMllr: choice.telephoneMllr }),
      });
      return choice.vad === false ? pocketsphinx : gate(pocketsphinx);
    }
    case "test":
      return choice.vad === true ? gate(new TestEngine()) : new TestEngine();
    default:
      throw new CliError(`unknown engine "${name}"; choose one of: ${ENGINE_NAMES.join(", ")}`);
  }
}
