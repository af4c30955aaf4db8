// RSS of a real PocketSphinx decoding process (host.ts) with 1 and with N warm decoders, after start-up
// and after N streams decoded real speech at the same time (each holding a decoder), so the search
// state each decoder grows while decoding is counted too (docs/design/shared-model.md).
//   npm run build && node packages/engine-pocketsphinx/scripts/shared-pool-rss.mjs [--n=4] [--whole]
//   --whole: shareModel false (every decoder whole), for comparison.
import { readFileSync } from "node:fs";
import { readWav } from "@earshot/audio";
import { PocketSphinxEngine } from "../dist/engine.js";

const SHARE = !process.argv.includes("--whole");
const N = Number(process.argv.find((a) => a.startsWith("--n="))?.slice(4) ?? 4);
const OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true };
const EVAL = new URL("../../../test/fixtures/eval/en-16k/", import.meta.url);
const CLIPS = ["ls-1089-134686-0000", "ls-1089-134686-0002", "ls-1089-134691-0000", "ls-1221-135766-0001"];
const clip = (id) => readWav(readFileSync(new URL(`${id}.wav`, EVAL)), { output: "int16" }).samples[0];
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function measure(decoders) {
  const engine = new PocketSphinxEngine({ workers: 1, decoders, maxDecoders: decoders, shareModel: SHARE });
  await engine.load();
  const pid = engine.processes[0].pid;
  await sleep(500);
  const ready = rssMb(pid);
  // `decoders` streams at once, each one utterance without pauses: every decoder is lent and decodes.
  await Promise.all(
    Array.from({ length: decoders }, async (_, i) => {
      const stream = await engine.openStream(OPTIONS);
      const reading = (async () => {
        for await (const _event of stream);
      })();
      const pcm = clip(CLIPS[i % CLIPS.length]);
      for (let at = 0; at < pcm.length; at += 1_600) {
        stream.push(pcm.subarray(at, at + 1_600));
        await sleep(10);
      }
      await stream.end();
      await reading;
    }),
  );
  await sleep(500);
  const decoded = rssMb(pid);
  await engine.close?.();
  return { ready, decoded };
}

const one = await measure(1);
const many = await measure(N);
const per = (a, b) => ((b - a) / (N - 1)).toFixed(1);
console.log(`shareModel ${SHARE}`);
console.log(`1 decoder:  ready ${one.ready.toFixed(1)} MB, after decoding ${one.decoded.toFixed(1)} MB`);
console.log(`${N} decoders: ready ${many.ready.toFixed(1)} MB, after decoding ${many.decoded.toFixed(1)} MB`);
console.log(
  `per extra decoder: ready ${per(one.ready, many.ready)} MB, after decoding ${per(one.decoded, many.decoded)} MB`,
);
process.exit(0);
