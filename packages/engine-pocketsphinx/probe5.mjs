import { readdirSync, readFileSync } from "node:fs";
import { readWav } from "@earshot/audio";
import { Decoder } from "./dist/binding.js";

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
const extra = JSON.parse(process.argv[2]);
const d = new Decoder({ ...base, ...extra });
let audio = 0;
const t0 = process.cpuUsage();
for (let rep = 0; rep < 2; rep++)
  for (const id of ids) {
    const pcm = clip(id);
    d.startStream();
    for (let at = 0; at + 320 <= pcm.length; at += 320) {
      d.process(pcm.subarray(at, at + 320));
    }
    d.endUtterance();
    audio += pcm.length / 16000;
  }
const cpu = process.cpuUsage(t0);
console.log(process.argv[2], "RTF", ((cpu.user + cpu.system) / 1e6 / audio).toFixed(4));
