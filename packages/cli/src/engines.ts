import { type Engine, PocketSphinxEngine, TestEngine, VadGatedEngine } from "@earshot/engines";
import { CliError } from "./cli-error.js";

export const ENGINE_NAMES = ["pocketsphinx", "test"] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export interface EngineChoice {
  /**
   * Put the Silero VAD gate in front (only speech is decoded; the gate closes utterances). Default
   * off: with PocketSphinx, continuous live streams measured slower and costlier through the gate
   * than with PocketSphinx's own VAD (docs/engines.md), which also keeps silence out of its search.
   */
  readonly vad?: boolean;
  /** The gate's default silence that ends an utterance; streams may set their own. */
  readonly endpointingMs?: number;
}

export function createEngine(name: string, choice: EngineChoice = {}): Engine {
  const gate = (inner: Engine) =>
    new VadGatedEngine(inner, choice.endpointingMs === undefined ? {} : { endpointingMs: choice.endpointingMs });
  switch (name) {
    case "pocketsphinx":
      return choice.vad === false
        ? new PocketSphinxEngine()
        : gate(new PocketSphinxEngine({ endpointing: "external" }));
    case "test":
      return choice.vad === true ? gate(new TestEngine()) : new TestEngine();
    default:
      throw new CliError(`unknown engine "${name}"; choose one of: ${ENGINE_NAMES.join(", ")}`);
  }
}
