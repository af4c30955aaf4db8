import { type Engine, PocketSphinxEngine, TestEngine } from "@earshot/engines";
import { CliError } from "./cli-error.js";

export const ENGINE_NAMES = ["pocketsphinx", "test"] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export function createEngine(name: string): Engine {
  switch (name) {
    case "pocketsphinx":
      return new PocketSphinxEngine();
    case "test":
      return new TestEngine();
    default:
      throw new CliError(`unknown engine "${name}"; choose one of: ${ENGINE_NAMES.join(", ")}`);
  }
}
