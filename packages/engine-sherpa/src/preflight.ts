/**
 * Preflight of a sherpa-onnx model directory in plain TypeScript, before any native load (research
 * notes C.3): every file present and non-empty, sha256 as in the manifest when there is one, ONNX
 * metadata read without loading the graph, the keys sherpa-onnx requires for the model type, the
 * decoder's vocab_size matching tokens.txt, and a known decoding method. Each of these defects
 * would otherwise kill the loading process (abort, segfault or `_Exit`), so each becomes a
 * `ModelInvalidError` naming the file and the defect. `earshot models verify` calls this too.
 */

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { ModelInvalidError } from "./errors.js";
import { inferModelSpec, parseManifest } from "./model-dir.js";
import { hashFile } from "./models/model-cache.js";
import { MODEL_MANIFEST_FILE, type ModelManifest, type ModelSpec } from "./models/model-spec.js";
import { OnnxFormatError, type OnnxHeader, readOnnxHeader } from "./onnx-metadata.js";
import { readTokens, TokensFormatError } from "./tokens-file.js";

export const DECODING_METHODS = ["greedy_search", "modified_beam_search"] as const;
export type DecodingMethod = (typeof DECODING_METHODS)[number];

/** Custom metadata each encoder kind must carry (the SHERPA_ONNX_READ_META_DATA calls, notes C.2). */
export const REQUIRED_ENCODER_METADATA: Readonly<Record<ModelSpec["modelType"], readonly string[]>> = {
  zipformer2: [
    "encoder_dims",
    "query_head_dims",
    "value_head_dims",
    "num_heads",
    "num_encoder_layers",
    "cnn_module_kernels",
    "left_context_len",
    "T",
    "decode_chunk_len",
  ],
  zipformer: [
    "encoder_dims",
    "attention_dims",
    "num_encoder_layers",
    "cnn_module_kernels",
    "left_context_len",
    "T",
    "decode_chunk_len",
  ],
  lstm: ["num_encoder_layers", "T", "decode_chunk_len", "rnn_hidden_size", "d_model"],
  conformer: [
    "num_encoder_layers",
    "T",
    "decode_chunk_len",
    "left_context",
    "encoder_dim",
    "pad_length",
    "cnn_module_kernel",
  ],
};
export const REQUIRED_DECODER_METADATA = ["vocab_size", "context_size"] as const;

export interface PreflightOptions {
  /** Checked against DECODING_METHODS: sherpa-onnx exits the process on any other. */
  readonly decodingMethod?: string;
}

/**
 * Checks the model in `dir` (its `earshot-model.json` when present, otherwise what
 * `inferModelSpec` finds) and returns its spec; rejects with `ModelInvalidError`.
 */
export async function preflightModel(dir: string, options: PreflightOptions = {}): Promise<ModelSpec> {
  const manifest = await readManifest(dir);
  const spec = manifest?.spec ?? (await inferModelSpec(dir));
  await checkModel(dir, spec, { ...options, ...(manifest ? { sha256: manifest.sha256 } : {}) });
  return spec;
}

/** Preflight of a spec given explicitly; `sha256` (relative path → hex) is checked where given. */
export async function checkModel(
  dir: string,
  spec: ModelSpec,
  options: PreflightOptions & { readonly sha256?: Readonly<Record<string, string>> } = {},
): Promise<void> {
  const method = options.decodingMethod;
  if (method !== undefined && !(DECODING_METHODS as readonly string[]).includes(method)) {
    throw new ModelInvalidError(`decoding method "${method}" is not one of ${DECODING_METHODS.join(", ")}`);
  }
  const files = Object.values(spec.files).filter((file): file is string => file !== undefined);
  for (const file of files) await checkFile(dir, file, options.sha256?.[file]);

  const encoder = await header(dir, spec.files.encoder);
  const modelType = encoder.metadata.get("model_type");
  if (modelType === undefined) throw invalid(dir, spec.files.encoder, "has no model_type in its metadata");
  if (modelType !== spec.modelType) {
    throw invalid(dir, spec.files.encoder, `has model_type "${modelType}", expected "${spec.modelType}"`);
  }
  const required = REQUIRED_ENCODER_METADATA[spec.modelType];
  if (!required) throw invalid(dir, spec.files.encoder, `has an unsupported model_type "${modelType}"`);
  requireKeys(dir, spec.files.encoder, encoder, required);

  const decoder = await header(dir, spec.files.decoder);
  requireKeys(dir, spec.files.decoder, decoder, REQUIRED_DECODER_METADATA);
  const vocabSize = Number(decoder.metadata.get("vocab_size"));
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw invalid(
      dir,
      spec.files.decoder,
      `has vocab_size "${decoder.metadata.get("vocab_size")}", not a positive integer`,
    );
  }
  await header(dir, spec.files.joiner);

  const tokensPath = join(dir, spec.files.tokens);
  let tokens: Awaited<ReturnType<typeof readTokens>>;
  try {
    tokens = await readTokens(tokensPath);
  } catch (error) {
    if (error instanceof TokensFormatError) throw invalid(dir, spec.files.tokens, error.message);
    throw error;
  }
  if (tokens.symbols.size !== vocabSize || tokens.maxId + 1 !== vocabSize) {
    const missing = Array.from({ length: vocabSize }, (_, id) => id).filter((id) => !tokens.symbols.has(id));
    const detail = missing.length > 0 ? `; missing id(s) ${missing.slice(0, 5).join(", ")}` : "";
    throw invalid(
      dir,
      spec.files.tokens,
      `has ${tokens.symbols.size} ids up to ${tokens.maxId}, but the decoder's vocab_size is ${vocabSize}${detail}`,
    );
  }
}

async function readManifest(dir: string): Promise<ModelManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MODEL_MANIFEST_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return parseManifest(text, join(dir, MODEL_MANIFEST_FILE));
}

async function checkFile(dir: string, file: string, sha256: string | undefined): Promise<void> {
  const path = join(dir, file);
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw invalid(dir, file, "is not a regular file");
    size = info.size;
  } catch (error) {
    if (error instanceof ModelInvalidError) throw error;
    throw invalid(dir, file, "is missing");
  }
  if (size === 0) throw invalid(dir, file, "is empty");
  if (sha256 === undefined) return;
  const { sha256: actual } = await hashFile(path);
  if (actual !== sha256.toLowerCase()) {
    throw invalid(dir, file, `has sha256 ${actual}, but ${MODEL_MANIFEST_FILE} says ${sha256}`);
  }
}

async function header(dir: string, file: string): Promise<OnnxHeader> {
  let result: OnnxHeader;
  try {
    result = await readOnnxHeader(join(dir, file));
  } catch (error) {
    if (error instanceof OnnxFormatError) throw invalid(dir, file, `is not an ONNX model (${error.message})`);
    throw error;
  }
  if (!result.hasGraph) throw invalid(dir, file, "is not an ONNX model (no graph)");
  return result;
}

function requireKeys(dir: string, file: string, onnx: OnnxHeader, keys: readonly string[]): void {
  const missing = keys.filter((key) => !onnx.metadata.has(key));
  if (missing.length > 0) throw invalid(dir, file, `lacks required metadata ${missing.join(", ")}`);
}

function invalid(dir: string, file: string, defect: string): ModelInvalidError {
  const path = join(dir, file);
  return new ModelInvalidError(`model file ${path} ${defect}`, { file: path });
}
