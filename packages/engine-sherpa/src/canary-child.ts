/**
 * The canary: a short-lived child process that loads one model and decodes 1 s of silence and 1 s
 * of noise, then exits 0. A corrupt model aborts, segfaults or `_Exit`s this process instead of the
 * server. Started by `canaryLoad` with the recognizer config as its only argument.
 */

import { int16ToFloat32, loadRecognizerClass } from "./native.js";

const config = JSON.parse(process.argv[2] ?? "{}") as { featConfig?: { sampleRate?: number } };
const sampleRate = config.featConfig?.sampleRate ?? 16_000;
const OnlineRecognizer = loadRecognizerClass();
const recognizer = new OnlineRecognizer(config);
const stream = recognizer.createStream();
const noise = new Int16Array(sampleRate);
let seed = 1;
for (let i = 0; i < noise.length; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  noise[i] = (seed >>> 16) - 32768;
}
for (const samples of [new Float32Array(sampleRate), int16ToFloat32(noise), new Float32Array(sampleRate / 2)]) {
  stream.acceptWaveform({ samples, sampleRate });
  while (recognizer.isReady(stream)) recognizer.decode(stream);
  // Reading the result maps token ids to symbols: a missing symbol aborts here.
  recognizer.getResult(stream);
}
stream.inputFinished();
while (recognizer.isReady(stream)) recognizer.decode(stream);
recognizer.getResult(stream);
process.exit(0);
