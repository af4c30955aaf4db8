/**
 * What a neural model directory holds and how to load it: written by `earshot models pull` as
 * `earshot-model.json` next to the files, read by the sherpa-onnx engine (which infers one for a
 * directory placed by hand). Paths are relative to the model directory.
 */

/** The manifest's file name inside a model directory. */
export const MODEL_MANIFEST_FILE = "earshot-model.json";

/** sherpa-onnx streaming transducer kinds (the encoder's `model_type` metadata). */
export type TransducerModelType = "zipformer2" | "zipformer" | "lstm" | "conformer";

/** How hotwords are tokenized (sherpa-onnx `modelingUnit`). */
export type ModelingUnit = "cjkchar" | "bpe" | "cjkchar+bpe";

export interface TransducerFiles {
  readonly encoder: string;
  readonly decoder: string;
  readonly joiner: string;
  readonly tokens: string;
  /** Needed for hotwords with a `bpe` or `cjkchar+bpe` modeling unit. */
  readonly bpeVocab?: string;
}

export interface ModelSpec {
  /** The name clients send as `config.model`, e.g. `zipformer-en-2023-06-26`. */
  readonly name: string;
  readonly kind: "transducer";
  readonly modelType: TransducerModelType;
  /** BCP-47 primary subtags, e.g. `["en"]`, `["zh", "en"]`. */
  readonly languages: readonly string[];
  readonly files: TransducerFiles;
  readonly modelingUnit: ModelingUnit;
  /** The sample rate the model's features expect (sherpa-onnx resamples other input). */
  readonly sampleRate: number;
  readonly featureDim: number;
}

/** `earshot-model.json`: the spec plus what was verified when the model was installed. */
export interface ModelManifest {
  readonly spec: ModelSpec;
  /** sha256 (hex) of every file the spec names, keyed by the relative path. */
  readonly sha256: Readonly<Record<string, string>>;
  /** Where it came from: an archive URL, or "local" for `--model-dir`. */
  readonly source: string;
  /** ISO 8601 time of installation. */
  readonly installedAt: string;
  /** Size in bytes of every file in `sha256` (written by `earshot models pull`). */
  readonly bytes?: Readonly<Record<string, number>>;
  /** The archive the files came from (absent for `--model-dir`). */
  readonly archive?: ArchiveRecord;
}

export interface ArchiveRecord {
  readonly sha256: string;
  readonly bytes: number;
  /** `pinned`: matched the catalogue's sha256; `first-use`: none was known, this one was recorded. */
  readonly checksum: "pinned" | "first-use";
}
