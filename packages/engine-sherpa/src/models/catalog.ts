/**
 * The models `earshot models pull` knows: official sherpa-onnx streaming transducers from the
 * k2-fsa/sherpa-onnx GitHub release `asr-models`. Facts and sources are in
 * ../shared/notes/neural-engine-and-scale.md (section B) and docs/engines.md ("Models").
 */

import type { ModelingUnit, ModelSpec, TransducerFiles, TransducerModelType } from "./model-spec.js";
import { ModelStoreError } from "./model-store-error.js";

/** Where the archives are published; `EARSHOT_MODELS_BASE_URL` or `--base-url` replace it (mirrors). */
export const DEFAULT_MODELS_BASE_URL = "https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models";

export interface CatalogEntry {
  /** The short name: what `config.model` and the CLI use, and the directory name in the cache. */
  readonly name: string;
  /** The upstream archive's name without `.tar.bz2`; also its single top-level directory. */
  readonly archive: string;
  /** A full archive URL, used instead of `<base URL>/<archive>.tar.bz2` (extra catalogues only). */
  readonly url?: string;
  readonly languages: readonly string[];
  readonly modelType: TransducerModelType;
  readonly modelingUnit: ModelingUnit;
  /** The files to load (the int8 set where int8 ships); other `.onnx` files are not kept. */
  readonly files: Omit<TransducerFiles, "bpeVocab">;
  /** Size of the archive in bytes, when known. */
  readonly archiveBytes?: number;
  /**
   * sha256 of the archive, when known. Without it a pull trusts the archive on first use and
   * records its sha256 (and each file's) in `earshot-model.json` for `verify`.
   */
  readonly archiveSha256?: string;
  /** Where `archiveSha256` and `archiveBytes` come from. */
  readonly checksumSource?: string;
  /** Published accuracy and its source. */
  readonly accuracy?: string;
  readonly license?: string;
  /** Real-time factor from the sherpa-onnx docs' logs (their machine, hardware unstated). */
  readonly documentedRtf?: string;
  readonly description?: string;
}

/** Pinned values recorded by several independent projects that hash the GitHub asset after download. */
const THIRD_PARTY_PINS = "sha256 and size as pinned by several independent projects that download this asset";
const NOT_PUBLISHED = "not published";
const ICEFALL_LICENSE = "Apache-2.0 (k2-fsa icefall/sherpa-onnx; no separate licence file per model)";

const EPOCH_99 = {
  encoder: "encoder-epoch-99-avg-1.int8.onnx",
  decoder: "decoder-epoch-99-avg-1.onnx",
  joiner: "joiner-epoch-99-avg-1.int8.onnx",
  tokens: "tokens.txt",
} as const;

export const CATALOG: readonly CatalogEntry[] = [
  {
    name: "zipformer-en-2023-06-26",
    archive: "sherpa-onnx-streaming-zipformer-en-2023-06-26",
    languages: ["en"],
    modelType: "zipformer2",
    modelingUnit: "bpe",
    files: {
      encoder: "encoder-epoch-99-avg-1-chunk-16-left-128.int8.onnx",
      decoder: "decoder-epoch-99-avg-1-chunk-16-left-128.onnx",
      joiner: "joiner-epoch-99-avg-1-chunk-16-left-128.int8.onnx",
      tokens: "tokens.txt",
    },
    archiveBytes: 310_414_022,
    archiveSha256: "639e25b578e9e997131402199419c13a941f8e4e198e2da1ce57dbf5cf401282",
    checksumSource: THIRD_PARTY_PINS,
    accuracy:
      "WER LibriSpeech test-clean 3.06 / test-other 7.79 (greedy, 320 ms chunks; icefall egs/librispeech/ASR/RESULTS.md, streaming zipformer 2023-05-17)",
    license: ICEFALL_LICENSE,
    documentedRtf: "0.062 int8, 2 threads",
    description: "English, 66 M parameters, trained on LibriSpeech",
  },
  {
    name: "zipformer-en-20M-2023-02-17",
    archive: "sherpa-onnx-streaming-zipformer-en-20M-2023-02-17",
    languages: ["en"],
    modelType: "zipformer",
    modelingUnit: "bpe",
    files: EPOCH_99,
    archiveBytes: 127_887_156,
    archiveSha256: "9c559283e8498d3fe95913c79ca1cb454bb26281ac2b102b41306c7d752765d9",
    checksumSource: THIRD_PARTY_PINS,
    accuracy: NOT_PUBLISHED,
    license: ICEFALL_LICENSE,
    documentedRtf: "0.038 int8, 1 thread",
    description: "English, small (20 M parameters), trained on LibriSpeech",
  },
  {
    name: "zipformer-zh-int8-2025-06-30",
    archive: "sherpa-onnx-streaming-zipformer-zh-int8-2025-06-30",
    languages: ["zh"],
    modelType: "zipformer2",
    modelingUnit: "cjkchar",
    files: { encoder: "encoder.int8.onnx", decoder: "decoder.onnx", joiner: "joiner.int8.onnx", tokens: "tokens.txt" },
    archiveBytes: 132_634_597,
    archiveSha256: "5a2832047ea1f97dd0dc595b816c230c4bafad65cfc0341fa57517cadc50afd0",
    checksumSource: `${THIRD_PARTY_PINS} (one records it as the GitHub release API's asset digest)`,
    accuracy:
      "CER aishell-1 test 1.91, aishell-2 test 4.12, WenetSpeech test_net 8.54 / test_meeting 7.91, alimeeting test 28.74 (greedy streaming; icefall egs/multi_zh-hans/ASR/RESULTS.md, zipformer large)",
    license: "not stated (checkpoint yuekai/icefall-asr-multi-zh-hans-zipformer-large)",
    documentedRtf: "0.15 int8, 1 thread",
    description: "Mandarin, ~160 M parameters, trained on multi-dataset Chinese including WenetSpeech",
  },
  {
    name: "zipformer-zh-14M-2023-02-23",
    archive: "sherpa-onnx-streaming-zipformer-zh-14M-2023-02-23",
    languages: ["zh"],
    modelType: "zipformer",
    modelingUnit: "cjkchar",
    files: EPOCH_99,
    archiveBytes: 74_004_050,
    archiveSha256: "2cbd71b640d9c37d3784f29367333a4577b0398b62e9deeed418170b081cba8b",
    checksumSource: THIRD_PARTY_PINS,
    accuracy: NOT_PUBLISHED,
    license: ICEFALL_LICENSE,
    documentedRtf: "0.028 int8, 1 thread",
    description: "Mandarin, tiny (14 M parameters), trained on WenetSpeech",
  },
  {
    name: "zipformer-bilingual-zh-en-2023-02-20",
    archive: "sherpa-onnx-streaming-zipformer-bilingual-zh-en-2023-02-20",
    languages: ["zh", "en"],
    modelType: "zipformer",
    modelingUnit: "cjkchar+bpe",
    files: EPOCH_99,
    archiveBytes: 511_274_346,
    archiveSha256: "27ffbd9ee24ad186d99acc2f6354d7992b27bcab490812510665fa8f9389c5f8",
    checksumSource: THIRD_PARTY_PINS,
    accuracy: `${NOT_PUBLISHED} (community model trained on an internal dataset)`,
    license:
      "Apache-2.0 (model card of csukuangfj/sherpa-onnx-streaming-zipformer-bilingual-zh-en-2023-02-20 on Hugging Face)",
    documentedRtf: "0.108 int8, 2 threads",
    description: "Mandarin and English code-switching; English comes out in upper case",
  },
  {
    name: "zipformer-small-bilingual-zh-en-2023-02-16",
    archive: "sherpa-onnx-streaming-zipformer-small-bilingual-zh-en-2023-02-16",
    languages: ["zh", "en"],
    modelType: "zipformer",
    modelingUnit: "cjkchar+bpe",
    files: EPOCH_99,
    archiveBytes: 458_187_351,
    archiveSha256: "2b7c63322b32e5e0f2526043a1103366119ca58dd615cd7105a37c01db9553d7",
    checksumSource: THIRD_PARTY_PINS,
    accuracy: NOT_PUBLISHED,
    license: "not stated (community model)",
    documentedRtf: "0.069 int8, 1 thread",
    description: "Mandarin and English, small",
  },
];

/** The catalogue entry for `name`, or a `model_unknown` error listing the names there are. */
export function findCatalogEntry(name: string, catalog: readonly CatalogEntry[] = CATALOG): CatalogEntry {
  const entry = catalog.find((candidate) => candidate.name === name);
  if (entry) return entry;
  const names = catalog.map((candidate) => candidate.name).join(", ");
  throw new ModelStoreError("model_unknown", `unknown model "${name}"; the catalogue has: ${names}`);
}

/** Where the archive is downloaded from. */
export function archiveUrl(entry: CatalogEntry, baseUrl: string = DEFAULT_MODELS_BASE_URL): string {
  return entry.url ?? `${baseUrl.replace(/\/+$/, "")}/${entry.archive}.tar.bz2`;
}

/** The spec a pulled model's `earshot-model.json` holds; `bpeVocab` when the archive has one. */
export function specFor(entry: CatalogEntry, bpeVocab?: string): ModelSpec {
  return {
    name: entry.name,
    kind: "transducer",
    modelType: entry.modelType,
    languages: entry.languages,
    files: bpeVocab === undefined ? { ...entry.files } : { ...entry.files, bpeVocab },
    modelingUnit: entry.modelingUnit,
    sampleRate: 16_000,
    featureDim: 80,
  };
}
