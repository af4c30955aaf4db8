/**
 * What sending audio to a decoder costs the server process: a worker thread (a copy of the view,
 * its buffer transferred; how PocketSphinx decoded until issue 15) against a child process (IPC
 * with the `advanced` serialization; how both engines decode now). Each side only counts the
 * samples it receives. Prints a markdown table for docs/benchmarks.md, "Audio to a decoding process".
 *
 *   node bench/dist/ipc-audio-bench.js [--messages 20000]
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";

const { values, positionals } = parseArgs({
  options: { messages: { type: "string", default: "20000" } },
  allowPositionals: true,
});
const MESSAGES = Number(values.messages);
/** 20 ms, 100 ms and 500 ms at 16 kHz. */
const FRAMES = [320, 1_600, 8_000];

interface Push {
  readonly type: "push";
  readonly streamId: number;
  readonly pcm: Int16Array | ArrayBuffer;
  readonly last: boolean;
}

function child(): void {
  let samples = 0;
  process.on("message", (message: Push) => {
    samples += (message.pcm as Int16Array).length;
    if (message.last) process.send?.({ samples });
  });
  process.on("disconnect", () => process.exit(0));
}

const WORKER_SOURCE = `
  const { parentPort } = require("node:worker_threads");
  let samples = 0;
  parentPort.on("message", (message) => {
    samples += new Int16Array(message.pcm).length;
    if (message.last) parentPort.postMessage({ samples });
  });
`;

/** Wall µs per message, and µs of this process's CPU (all its threads) per message. */
async function measure(send: (last: boolean) => void, reply: Promise<unknown>): Promise<[number, number]> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < MESSAGES; i++) send(i === MESSAGES - 1);
  await reply;
  const used = process.cpuUsage(cpu);
  return [((performance.now() - started) * 1000) / MESSAGES, (used.user + used.system) / MESSAGES];
}

async function main(): Promise<void> {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  const host = fork(new URL(import.meta.url), ["child"], {
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  console.log(
    "| frame | worker thread: wall / server CPU per message | child process: wall / server CPU per message |",
  );
  console.log("| --- | --- | --- |");
  for (const samples of FRAMES) {
    // A view into a larger buffer, as a WebSocket frame's audio is.
    const pcm = new Int16Array(samples * 2).fill(7).subarray(samples / 2, samples / 2 + samples);
    let threadRow: [number, number] = [0, 0];
    let processRow: [number, number] = [0, 0];
    // The first round warms both paths up.
    for (let round = 0; round < 2; round++) {
      threadRow = await measure(
        (last) => {
          const copy = pcm.slice();
          worker.postMessage({ type: "push", streamId: 1, pcm: copy.buffer, last } satisfies Push, [copy.buffer]);
        },
        once(worker, "message"),
      );
      processRow = await measure(
        (last) => host.send({ type: "push", streamId: 1, pcm, last } satisfies Push),
        once(host, "message"),
      );
    }
    const cell = ([wall, cpu]: [number, number]) => `${wall.toFixed(1)} / ${cpu.toFixed(1)} µs`;
    console.log(`| ${samples / 16} ms | ${cell(threadRow)} | ${cell(processRow)} |`);
  }
  await worker.terminate();
  host.disconnect();
}

if (positionals[0] === "child") child();
else await main();
