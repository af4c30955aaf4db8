import { readdirSync, readFileSync } from "node:fs";
import { readWav } from "@earshot/audio";
import { Decoder } from "./dist/binding.js";
import { resetTopNHistory } from "./dist/decoder-state.js";

const m = "/usr/share/pocketsphinx/model/en-us";
const base = {
  hmm: m + "/en-us",
  lm: m + "/en-us.lm.bin",
  dict: m + "/cmudict-en-us.dict",
  fwdflat: false,
  vad_postspeech: 20,
};
const dir = "/work/main/test/fixtures/eval/en-16k/";
const ids = readdirSync(dir)
  .filter((f) => f.endsWith(".wav"))
  .map((f) => f.replace(".wav", ""));
const clip = (id) => readWav(readFileSync(dir + id + ".wav"), { output: "int16" }).samples[0];
function decode(d, pcm) {
  d.startStream((ps) => resetTopNHistory(ps));
  const out = [];
  let speech = false;
  const fin = () => {
    d.endUtterance();
    out.push(d.hypothesis() + JSON.stringify(d.words().map((w) => [w.startFrame, w.endFrame])));
    d.startUtterance();
  };
  for (let at = 0; at + 320 <= pcm.length; at += 320) {
    d.process(pcm.subarray(at, at + 320));
    if (d.inSpeech) speech = true;
    else if (speech) {
      fin();
      speech = false;
    }
  }
  if (speech) fin();
  d.endUtterance();
  return out.join("|");
}
const extra = JSON.parse(process.argv[2]);
const args = { ...base, ...extra };
const fresh = new Map();
for (const id of ids) {
  const d = new Decoder(args);
  fresh.set(id, decode(d, clip(id)));
  d.free();
}
let diff = 0,
  n = 0;
const used = new Decoder(args);
for (const prior of ids.slice(0, Number(process.env.PRIORS ?? 6)))
  for (const t of ids) {
    decode(used, clip(prior));
    const r = decode(used, clip(t));
    n++;
    if (r !== fresh.get(t)) diff++;
  }
console.log(process.argv[2], `${diff}/${n} differ (text+frames)`);
