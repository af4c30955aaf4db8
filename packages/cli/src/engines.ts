import {
  type Engine,
  EngineRouter,
  FAST_DECODER_ARGS,
  PocketSphinxEngine,
  SherpaOnnxEngine,
  TestEngine,
  VadGatedEngine,
} from "@earshot/engines";
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
}

/**
 * The engine `--engine` names: one name, or several separated by commas, served side by side by
 * an EngineRouter (the first engine's first model is the default model).
 */
export function createEngine(spec: string, choice: EngineChoice = {}): Engine {
  const names = spec.split(",").map((name) => name.trim());
  if (names.length === 1) return createOneEngine(names[0] ?? "", choice);
  if (new Set(names).size !== names.length) throw new CliError(`--engine "${spec}" names an engine twice`);
  return new EngineRouter(names.map((name) => createOneEngine(name, choice)));
}

function createOneEngine(name: string, choice: EngineChoice): Engine {
  const gate = (inner: Engine) =>
    new VadGatedEngine(inner, choice.endpointingMs === undefined ? {} : { endpointingMs: choice.endpointingMs });
  switch (name) {
    case "pocketsphinx": {
      // Behind the gate, PocketSphinx keeps its own short-pause endpointing (docs/engines.md).
      // The speed-tuned decoder settings (measured in docs/benchmarks.md, "PocketSphinx tuning").
      const pocketsphinx = new PocketSphinxEngine({ decoderArgs: FAST_DECODER_ARGS });
      return choice.vad === false ? pocketsphinx : gate(pocketsphinx);
    }
    case "sherpa-onnx": {
      const models = choice.modelDirs ?? [];
      if (models.length === 0) throw new CliError("the sherpa-onnx engine needs at least one model directory");
      // Its own decoder-driven endpointing; the gate stays off unless asked for.
      const sherpa = new SherpaOnnxEngine({
        models,
        ...(choice.endpointingMs === undefined ? {} : { endpointingMs: choice.endpointingMs }),
      });
      return choice.vad === true ? gate(sherpa) : sherpa;
    }
    case "test":
      return choice.vad === true ? gate(new TestEngine()) : new TestEngine();
    default:
      throw new CliError(`unknown engine "${name}"; choose one of: ${ENGINE_NAMES.join(", ")}`);
  }
}
