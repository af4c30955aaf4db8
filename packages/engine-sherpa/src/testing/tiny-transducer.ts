/**
 * A tiny but valid sherpa-onnx streaming transducer (the "lstm" path), generated at test time so no
 * model is downloaded and nothing binary lives in git (research notes C.4). It is an energy
 * detector: an output frame whose mean log-mel energy is above `threshold` emits token "A" (and
 * "B" one logit lower, so only a key-term boost makes "B" win), anything quieter is blank. Noise
 * at amplitude 0.5 gives "AAAA…" (one token per 40 ms output frame), silence gives nothing and, after
 * the trailing-silence rules, an endpoint.
 *
 * Uses the devDependency `onnx-proto`: test code only, never exported from the package index.
 */

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import type { ModelSpec } from "../models/model-spec.js";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export const TINY_TOKENS = ["<blk>", "<sos/eos>", "<unk>", "A", "B"] as const;

export interface TinyTransducerOptions {
  /** Model name in the returned spec; default `tiny-transducer`. */
  readonly name?: string;
  /** Languages in the returned spec; default `["en"]`. */
  readonly languages?: readonly string[];
  /** Mean log-mel energy above which a frame is "A"; default 0 (noise at 0.5 is well above, 0.01 below). */
  readonly threshold?: number;
  /** Metadata keys to leave out (for defect fixtures). */
  readonly omitEncoderMetadata?: readonly string[];
  readonly omitDecoderMetadata?: readonly string[];
  /** tokens.txt contents instead of the valid five lines. */
  readonly tokensText?: string;
}

export const TINY_ENCODER_METADATA: Readonly<Record<string, string>> = {
  model_type: "lstm",
  num_encoder_layers: "1",
  T: "40",
  decode_chunk_len: "32",
  rnn_hidden_size: "4",
  d_model: "4",
};
export const TINY_DECODER_METADATA: Readonly<Record<string, string>> = { vocab_size: "5", context_size: "2" };

type Dim = number | string;
const dim = (d: Dim) => (typeof d === "string" ? { dimParam: d } : { dimValue: d });
const valueInfo = (name: string, elemType: number, shape: readonly Dim[]) => ({
  name,
  type: { tensorType: { elemType, shape: { dim: shape.map(dim) } } },
});
const floats = (name: string, dims: readonly number[], values: readonly number[]) => ({
  name,
  dims: [...dims],
  dataType: FLOAT,
  rawData: Buffer.from(new Float32Array(values).buffer),
});
const int64s = (name: string, values: readonly number[]) => ({
  name,
  dims: [values.length],
  dataType: INT64,
  rawData: Buffer.from(new BigInt64Array(values.map(BigInt)).buffer),
});
const node = (opType: string, input: string[], output: string[], attribute: object[] = []) => ({
  opType,
  input,
  output,
  attribute,
});

function encodeModel(graph: object, metadata: Readonly<Record<string, string>>, omit: readonly string[] = []) {
  const metadataProps = Object.entries(metadata)
    .filter(([key]) => !omit.includes(key))
    .map(([key, value]) => ({ key, value }));
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: "", version: 13 }],
    graph,
    metadataProps,
  });
  return onnx.ModelProto.encode(model).finish();
}

function encoderGraph() {
  return {
    name: "encoder",
    node: [
      // Every 4th of the first 32 feature frames (subsampling 4), then the mean over the 80 mel bins.
      node("Slice", ["x", "starts", "ends", "axes", "steps"], ["xs"]),
      node("MatMul", ["xs", "W"], ["encoder_out"]),
      node("Identity", ["h"], ["next_h"]),
      node("Identity", ["c"], ["next_c"]),
    ],
    initializer: [
      floats("W", [80, 8], new Array(640).fill(1 / 80)),
      int64s("starts", [0]),
      int64s("ends", [32]),
      int64s("axes", [1]),
      int64s("steps", [4]),
    ],
    input: [
      valueInfo("x", FLOAT, ["N", 40, 80]),
      valueInfo("h", FLOAT, [1, "N", 4]),
      valueInfo("c", FLOAT, [1, "N", 4]),
    ],
    output: [
      valueInfo("encoder_out", FLOAT, ["N", 8, 8]),
      valueInfo("next_h", FLOAT, [1, "N", 4]),
      valueInfo("next_c", FLOAT, [1, "N", 4]),
    ],
  };
}

function decoderGraph() {
  return {
    name: "decoder",
    node: [
      node("Cast", ["y"], ["yf"], [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }]),
      node("MatMul", ["yf", "Wd"], ["decoder_out"]),
    ],
    initializer: [floats("Wd", [2, 8], new Array(16).fill(0))],
    input: [valueInfo("y", INT64, ["N", 2])],
    output: [valueInfo("decoder_out", FLOAT, ["N", 8])],
  };
}

function joinerGraph(threshold: number) {
  // Columns 3 (A) and 4 (B) average the encoder output: the frame's mean log-mel energy.
  const weights = new Array(40).fill(0);
  for (let row = 0; row < 8; row++) {
    weights[row * 5 + 3] = 1 / 8;
    weights[row * 5 + 4] = 1 / 8;
  }
  return {
    name: "joiner",
    node: [
      node("Add", ["encoder_out", "decoder_out"], ["sum"]),
      node("MatMul", ["sum", "Wj"], ["projected"]),
      node("Add", ["projected", "bj"], ["logit"]),
    ],
    initializer: [floats("Wj", [8, 5], weights), floats("bj", [5], [0, -100, -100, -threshold, -threshold - 1])],
    input: [valueInfo("encoder_out", FLOAT, ["N", 8]), valueInfo("decoder_out", FLOAT, ["N", 8])],
    output: [valueInfo("logit", FLOAT, ["N", 5])],
  };
}

/** Writes encoder.onnx, decoder.onnx, joiner.onnx and tokens.txt into `dir`; returns the matching spec. */
export async function writeTinyTransducer(dir: string, options: TinyTransducerOptions = {}): Promise<ModelSpec> {
  await mkdir(dir, { recursive: true });
  const tokens = options.tokensText ?? TINY_TOKENS.map((symbol, id) => `${symbol} ${id}\n`).join("");
  await Promise.all([
    writeFile(
      join(dir, "encoder.onnx"),
      encodeModel(encoderGraph(), TINY_ENCODER_METADATA, options.omitEncoderMetadata),
    ),
    writeFile(
      join(dir, "decoder.onnx"),
      encodeModel(decoderGraph(), TINY_DECODER_METADATA, options.omitDecoderMetadata),
    ),
    writeFile(join(dir, "joiner.onnx"), encodeModel(joinerGraph(options.threshold ?? 0), {})),
    writeFile(join(dir, "tokens.txt"), tokens),
  ]);
  return {
    name: options.name ?? "tiny-transducer",
    kind: "transducer",
    modelType: "lstm",
    languages: options.languages ?? ["en"],
    files: { encoder: "encoder.onnx", decoder: "decoder.onnx", joiner: "joiner.onnx", tokens: "tokens.txt" },
    modelingUnit: "cjkchar",
    sampleRate: 16_000,
    featureDim: 80,
  };
}

/** Uniform noise as 16 kHz PCM16 from a fixed seed: the fixture hears amplitude 0.5 as "A", 0.1 and below as nothing. */
export function noisePcm(ms: number, amplitude: number, seed = 1): Int16Array {
  const pcm = new Int16Array(16 * ms);
  let state = seed;
  for (let i = 0; i < pcm.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    pcm[i] = Math.round((state / 0x80000000 - 1) * amplitude * 32767);
  }
  return pcm;
}

/** Concatenated PCM pieces. */
