// Probe for issue 15 item 3 (docs/design/decoder-state.md): does a Silero VAD detector resumed from a
// snapshot (recurrent state 2×128 floats + 64-sample context, on the same 512-sample window grid)
// give the same probabilities and SpeechGate decisions as the uninterrupted stream? And does batching
// (the window scored alone vs in a batch with other streams' windows) change the numbers?
//
//   npm run build && node packages/vad/scripts/silero-state-probe.mjs

import { loadEvalSet, loadPcm } from "@earshot/test-support";
import * as ort from "onnxruntime-node";
import { DEFAULT_SILERO_MODEL_PATH } from "../dist/silero-vad.js";
import { SpeechGate } from "../dist/speech-gate.js";

const WIN = 512;
const CTX = 64;
const S = 128;
const session = await ort.InferenceSession.create(DEFAULT_SILERO_MODEL_PATH, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
});
const sr = new ort.Tensor("int64", BigInt64Array.from([16000n]), []);

const clips = loadEvalSet().map((u) => loadPcm(u.path));
const total = clips.reduce((s, c) => s + c.length, 0);
const pcm = new Float32Array(total);
let o = 0;
for (const c of clips) {
  for (let i = 0; i < c.length; i++) pcm[o + i] = c[i] / 32768;
  o += c.length;
}

/** Score windows of `audio` from sample `from` on the grid from+k·512, batch of `others`+1. */
async function run(from, init, others = 0) {
  let state = init ? init.state.slice() : new Float32Array(2 * S);
  let context = init ? init.context.slice() : new Float32Array(CTX);
  const out = [];
  for (let at = from; at + WIN <= pcm.length; at += WIN) {
    const size = others + 1;
    const input = new Float32Array(size * (CTX + WIN));
    const st = new Float32Array(2 * size * S);
    // Slot 0 is this stream; the other slots hold unrelated audio and a random-ish state.
    for (let b = 0; b < size; b++) {
      const src = b === 0 ? at : (at + 7919 * b * WIN) % (pcm.length - WIN);
      input.set(b === 0 ? context : pcm.subarray(Math.max(0, src - CTX), Math.max(CTX, src)), b * (CTX + WIN));
      input.set(pcm.subarray(src, src + WIN), b * (CTX + WIN) + CTX);
      if (b === 0) {
        st.set(state.subarray(0, S), 0);
        st.set(state.subarray(S), size * S);
      } else {
        for (let i = 0; i < S; i++) st[b * S + i] = st[(size + b) * S + i] = Math.sin(i * b) * 0.3;
      }
    }
    const r = await session.run({
      input: new ort.Tensor("float32", input, [size, CTX + WIN]),
      state: new ort.Tensor("float32", st, [2, size, S]),
      sr,
    });
    const next = r.stateN.data;
    state = new Float32Array(2 * S);
    state.set(next.subarray(0, S), 0);
    state.set(next.subarray(size * S, size * S + S), S);
    context = pcm.slice(at + WIN - CTX, at + WIN);
    out.push({ end: at + WIN, p: r.output.data[0], snap: { state: state.slice(), context: context.slice() } });
  }
  return out;
}

function gate(windows) {
  const g = new SpeechGate({ threshold: 0.5, endpointingMs: 200, sampleRate: 16000 });
  const decisions = [];
  for (const w of windows) {
    const d = g.observe(w.p, w.end);
    if (d) decisions.push(d.type === "onset" ? `on@${d.atSample}` : `end@${d.speechEndSample}`);
  }
  return decisions;
}

const ref = await run(0);
const refGate = gate(ref);
console.log(`# ${(total / 16000).toFixed(1)} s, ${ref.length} windows, ${refGate.length} gate decisions`);

// Batch: same stream scored in batches of 8 with other streams' windows.
const batched = await run(0, undefined, 7);
let maxBatchDiff = 0;
let bitEqual = 0;
for (let i = 0; i < ref.length; i++) {
  const d = Math.abs(ref[i].p - batched[i].p);
  maxBatchDiff = Math.max(maxBatchDiff, d);
  if (ref[i].p === batched[i].p) bitEqual++;
}
console.log(
  `batch 1 vs batch 8: ${bitEqual}/${ref.length} probabilities bit-identical, max |diff| ${maxBatchDiff.toExponential(2)}, gate decisions equal: ${JSON.stringify(gate(batched)) === JSON.stringify(refGate)}`,
);

// Resume at every gate endpoint (window index just after the endpoint decision).
const endIdx = [];
{
  const g = new SpeechGate({ threshold: 0.5, endpointingMs: 200, sampleRate: 16000 });
  ref.forEach((w, i) => {
    if (g.observe(w.p, w.end)?.type === "endpoint") endIdx.push(i);
  });
}
const rows = { fresh: [0, 0, 0], snapshot: [0, 0, 0], "snapshot, grid shifted 160": [0, 0, 0] };
let maxFresh = 0;
for (const i of endIdx) {
  const from = ref[i].end;
  const expected = ref.slice(i + 1);
  const expGate = gate(expected);
  for (const [name, init, shift] of [
    ["fresh", undefined, 0],
    ["snapshot", ref[i].snap, 0],
    ["snapshot, grid shifted 160", ref[i].snap, 160],
  ]) {
    const got = await run(from + shift, init);
    const r = rows[name];
    const probsSame = shift === 0 && got.every((w, k) => w.p === expected[k].p);
    if (probsSame) r[0]++;
    const gotGate = gate(got);
    if (JSON.stringify(gotGate) === JSON.stringify(expGate)) r[1]++;
    r[2]++;
    if (name === "fresh") {
      for (let k = 0; k < Math.min(20, got.length); k++)
        maxFresh = Math.max(maxFresh, Math.abs(got[k].p - expected[k].p));
    }
  }
}
for (const [name, [probs, gates, n]] of Object.entries(rows)) {
  console.log(
    `resume at gate endpoints, ${name}: probabilities bit-identical ${probs}/${n}, later gate decisions identical ${gates}/${n}`,
  );
}
console.log(`fresh state: max |probability diff| over the first 20 windows after resume ${maxFresh.toFixed(3)}`);
await session.release();
