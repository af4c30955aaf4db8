/**
 * Step 1 of build.sh: the Free Spoken Digit Dataset's recordings as the server's PocketSphinx sees a
 * telephone stream, plus the lists sphinxtrain's `bw` reads.
 *
 *   node prepare.mjs FSDD_RECORDINGS_DIR OUT_DIR [BAND_EXTENSION_DB]
 *
 * Each 8 kHz recording goes through the server's own G.711 path (packages/server wire-decoder.ts):
 * μ-law encoding and decoding, the polyphase upsampler to 16 kHz, then the band extension at the
 * server's default gain (0 dB). Writes OUT_DIR/wav/<id>.wav, OUT_DIR/fileids and
 * OUT_DIR/transcription (`<s> seven </s> (7_jackson_32)`: FSDD names each file by its digit).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BandExtender, concatPcm, mulawDecode, mulawEncode, Resampler, readWav, writeWav } from "@earshot/audio";

const DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const [recordings, out, gain = "0"] = process.argv.slice(2);
if (!recordings || !out) {
  console.error("usage: node prepare.mjs FSDD_RECORDINGS_DIR OUT_DIR [BAND_EXTENSION_DB]");
  process.exit(2);
}
mkdirSync(join(out, "wav"), { recursive: true });
const ids = [];
const lines = [];
for (const name of readdirSync(recordings)
  .filter((n) => n.endsWith(".wav"))
  .sort()) {
  const id = name.slice(0, -4);
  const digit = DIGITS[Number(id.split("_")[0])];
  if (digit === undefined) throw new Error(`${name}: not <digit>_<speaker>_<n>.wav`);
  const wav = readWav(readFileSync(join(recordings, name)), { output: "int16" });
  if (wav.samples.length !== 1) throw new Error(`${name}: not mono`);
  let pcm = wav.samples[0];
  if (wav.sampleRate !== 8000) {
    const down = new Resampler({ inputRate: wav.sampleRate, outputRate: 8000 });
    pcm = concatPcm(down.push(pcm), down.flush());
  }
  const up = new Resampler({ inputRate: 8000, outputRate: 16_000 });
  const wide = concatPcm(up.push(mulawDecode(mulawEncode(pcm))), up.flush());
  const fed = gain === "off" ? wide : new BandExtender({ gainDb: Number(gain) }).process(wide);
  writeFileSync(join(out, "wav", name), writeWav(16_000, [fed]));
  ids.push(id);
  lines.push(`<s> ${digit} </s> (${id})`);
}
writeFileSync(join(out, "fileids"), `${ids.join("\n")}\n`);
writeFileSync(join(out, "transcription"), `${lines.join("\n")}\n`);
console.log(`${ids.length} recordings prepared in ${out}`);
