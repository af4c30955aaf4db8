/**
 * Step 2 of build.sh: PocketSphinx's `sendump` (8-bit quantized mixture weights, the only form in
 * which Debian ships the en-us model's weights) as a Sphinx-III `mixture_weights` file, which
 * sphinxtrain's `bw` needs. A port of sphinxtrain's python/cmusphinx/sendump.py (Python 2 only),
 * writing the s3 format that its s3file.py writes.
 *
 *   node sendump-to-mixw.mjs SENDUMP MIXTURE_WEIGHTS
 */
import { readFileSync, writeFileSync } from "node:fs";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node sendump-to-mixw.mjs SENDUMP MIXTURE_WEIGHTS");
  process.exit(2);
}
const bytes = readFileSync(input);
let at = 0;
const int32 = () => {
  const value = bytes.readUInt32LE(at);
  at += 4;
  return value;
};
const string = () => {
  const length = int32();
  const text = bytes.toString("latin1", at, at + Math.max(0, length - 1));
  at += length;
  return length === 0 ? undefined : text;
};
string(); // title
const header = new Map();
for (let line = string(); line !== undefined; line = string()) {
  const [key, value] = line.split(/\s+/);
  if (value !== undefined && /^\d+$/.test(value)) header.set(key, Number(value));
}
const features = header.get("feature_count") ?? 0;
const mixwShift = header.get("mixw_shift") ?? 10;
if ((header.get("cluster_count") ?? 0) !== 0) throw new Error("clustered sendump files are not supported");
const codewords = int32(); // densities per codebook
const senones = int32();
// Senone-major, as s3 files keep them: weights[senone][feature][codeword].
const weights = new Float32Array(senones * features * codewords);
for (let f = 0; f < features; f++) {
  for (let c = 0; c < codewords; c++) {
    for (let s = 0; s < senones; s++) {
      // -log base 1.0001, shifted down by mixw_shift when it was quantized.
      weights[(s * features + f) * codewords + c] = 1.0001 ** -(bytes[at++] << mixwShift);
    }
  }
}
if (at !== bytes.length) throw new Error(`${bytes.length - at} unexpected bytes after the weights`);
// Each mixture sums to 1 again (quantization left it a little off).
for (let m = 0; m < senones * features; m++) {
  const row = weights.subarray(m * codewords, (m + 1) * codewords);
  const sum = row.reduce((a, b) => a + b, 0);
  for (let c = 0; c < codewords; c++) row[c] = (row[c] ?? 0) / sum;
}
let head = "s3\nversion 1.0\n";
const misaligned = (head.length + "endhdr\n".length) & 3;
head += `${misaligned ? " ".repeat(4 - misaligned) : ""}endhdr\n`;
const dims = Buffer.alloc(20);
dims.writeUInt32LE(0x11223344, 0);
dims.writeUInt32LE(senones, 4);
dims.writeUInt32LE(features, 8);
dims.writeUInt32LE(codewords, 12);
dims.writeUInt32LE(senones * features * codewords, 16);
writeFileSync(output, Buffer.concat([Buffer.from(head, "latin1"), dims, Buffer.from(weights.buffer)]));
console.log(`${senones} senones × ${features} streams × ${codewords} codewords → ${output}`);
