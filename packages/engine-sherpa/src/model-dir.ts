/**
 * What a model directory holds: its `earshot-model.json` (written by `earshot models pull`), or for a
 * directory placed by hand (`--model-dir` on an air-gapped machine), a spec inferred from the files.
 */

import { readdir } from "node:fs/promises";
import { basename, isAbsolute, join, normalize } from "node:path";
import { ModelInvalidError } from "./errors.js";
import type { ModelingUnit, ModelManifest, ModelSpec, TransducerModelType } from "./models/model-spec.js";
import { readOnnxHeader } from "./onnx-metadata.js";
import { readTokens } from "./tokens-file.js";

const MODEL_TYPES: readonly TransducerModelType[] = ["zipformer2", "zipformer", "lstm", "conformer"];
const MODELING_UNITS: readonly ModelingUnit[] = ["cjkchar", "bpe", "cjkchar+bpe"];
const HAN = /\p{Script=Han}/u;

/**
 * Finds encoder, decoder, joiner and tokens.txt in `dir`. The int8 encoder and joiner are preferred
 * (a quarter of the size); the decoder is taken in fp32 when both exist, as in the int8 sets
 * sherpa-onnx publishes (its int8 decoder is not what those sets load). The model type comes from
 * the encoder's metadata; languages and the hotword modeling unit from the token symbols (Han
 * characters: `zh`; `▁` word pieces: `en`).
 */
export async function inferModelSpec(dir: string): Promise<ModelSpec> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    throw new ModelInvalidError(`model directory ${dir} is missing or unreadable`, { file: dir });
  }
  const encoder = pick(dir, names, "encoder", "int8");
  const decoder = pick(dir, names, "decoder", "fp32");
  const joiner = pick(dir, names, "joiner", "int8");
  if (!names.includes("tokens.txt")) {
    throw new ModelInvalidError(`model file ${join(dir, "tokens.txt")} is missing`, { file: join(dir, "tokens.txt") });
  }
  // Unreadable files are reported by the preflight that follows; here they only leave fields unknown.
  const modelType = await readOnnxHeader(join(dir, encoder)).then(
    (header) => header.metadata.get("model_type"),
    () => undefined,
  );
  const symbols = await readTokens(join(dir, "tokens.txt")).then(
    (table) => [...table.symbols.values()],
    () => [],
  );
  const han = symbols.some((symbol) => HAN.test(symbol));
  const pieces = symbols.some((symbol) => symbol.startsWith("▁"));
  const modelingUnit: ModelingUnit = han ? (pieces ? "cjkchar+bpe" : "cjkchar") : pieces ? "bpe" : "cjkchar";
  return {
    name: basename(normalize(dir)),
    kind: "transducer",
    // An unknown type is caught by the preflight, which compares it with the metadata again.
    modelType: (MODEL_TYPES as readonly string[]).includes(modelType ?? "")
      ? (modelType as TransducerModelType)
      : "zipformer2",
    languages: han ? (pieces ? ["zh", "en"] : ["zh"]) : ["en"],
    files: {
      encoder,
      decoder,
      joiner,
      tokens: "tokens.txt",
      ...(names.includes("bpe.vocab") ? { bpeVocab: "bpe.vocab" } : {}),
    },
    modelingUnit,
    sampleRate: 16_000,
    featureDim: 80,
  };
}

function pick(dir: string, names: readonly string[], part: string, prefer: "int8" | "fp32"): string {
  const candidates = names.filter((name) => name.startsWith(part) && name.endsWith(".onnx"));
  const int8 = candidates.filter((name) => name.endsWith(".int8.onnx"));
  const fp32 = candidates.filter((name) => !name.endsWith(".int8.onnx"));
  const preferred = prefer === "int8" ? [int8, fp32] : [fp32, int8];
  const choice = preferred.find((list) => list.length > 0) ?? [];
  if (choice.length === 0) {
    throw new ModelInvalidError(`model directory ${dir} has no ${part}*.onnx`, { file: join(dir, `${part}.onnx`) });
  }
  if (choice.length > 1) {
    throw new ModelInvalidError(
      `model directory ${dir} has several ${part} files (${choice.join(", ")}); name one in earshot-model.json`,
      { file: dir },
    );
  }
  return choice[0] as string;
}

/** Validates `earshot-model.json`; paths must stay inside the model directory. */
export function parseManifest(text: string, path: string): ModelManifest {
  const fail = (why: string) => new ModelInvalidError(`${path} ${why}`, { file: path });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw fail("is not valid JSON");
  }
  const manifest = raw as Partial<ModelManifest> | null;
  const spec = manifest?.spec as Partial<ModelSpec> | undefined;
  const files = spec?.files as Partial<ModelSpec["files"]> | undefined;
  if (typeof spec?.name !== "string" || spec.name === "") throw fail("has no spec.name");
  if (!MODEL_TYPES.includes(spec.modelType as TransducerModelType)) throw fail("has an unknown spec.modelType");
  if (!MODELING_UNITS.includes(spec.modelingUnit as ModelingUnit)) throw fail("has an unknown spec.modelingUnit");
  if (!Array.isArray(spec.languages) || !spec.languages.every((l) => typeof l === "string")) {
    throw fail("has no spec.languages list");
  }
  for (const key of ["sampleRate", "featureDim"] as const) {
    if (!Number.isInteger(spec[key]) || (spec[key] ?? 0) <= 0) throw fail(`has no valid spec.${key}`);
  }
  for (const key of ["encoder", "decoder", "joiner", "tokens", "bpeVocab"] as const) {
    const file = files?.[key];
    if (file === undefined && key === "bpeVocab") continue;
    if (typeof file !== "string" || isAbsolute(file) || normalize(file).startsWith("..")) {
      throw fail(`has no valid spec.files.${key} (a path inside the model directory)`);
    }
  }
  const sha256 = manifest?.sha256 ?? {};
  if (typeof sha256 !== "object" || !Object.values(sha256).every((v) => typeof v === "string")) {
    throw fail("has an invalid sha256 table");
  }
  return manifest as ModelManifest;
}
