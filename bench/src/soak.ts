/**
 * `npm run soak` (not in CI): streams the eval set's real speech in a loop, in real time, through
 * the SDK and the fault-injection proxy to a real `earshot serve` process, with a cut every 2–10 s
 * (and now and then a stall long enough for the heartbeats to catch), for `--minutes` (default 10).
 * Prints lost audio (must be 0 ms), duplicated finals (must be 0), reconnect time p50/p95 and the
 * server's RSS at start and end; then decodes the same audio on a clean connection and says
 * whether the transcripts match word for word. Exits 1 if anything was lost or duplicated.
 *
 * `--native` runs the native soak instead (soak-native.ts, also `npm run soak:native`): PocketSphinx
 * streams opening and closing in overlapping waves under glibc's heap checks, then a decoder churn.
 *
 *   node bench/dist/soak.js [--minutes 10] [--engine pocketsphinx|test] [--seed 1]
 *   node bench/dist/soak.js --native [--minutes 10] [--round-seconds 60] [--churn 30]
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { EarshotClient, type StateChange } from "@earshot/client";
import { SAMPLE_RATE, SAMPLES_PER_MS, type TranscriptMessage } from "@earshot/protocol";
import { FaultProxy, loadEvalSet, loadPcm, mulberry32, wordEdits } from "@earshot/test-support";
import { describeMachine } from "./machine.js";
import { percentile } from "./stats.js";

const BIN = new URL("../../packages/cli/bin/earshot.js", import.meta.url).pathname;
const KEY = "soak-key";
const PAUSE_MS = 1000;
const PIECE_MS = 100;
const CLEAN_SPEED = 4;

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    engine: { type: "string", default: "pocketsphinx" },
    seed: { type: "string", default: "1" },
    native: { type: "boolean", default: false },
    "round-seconds": { type: "string" },
    churn: { type: "string" },
  },
});
if (values.native) {
  const native = new URL("./soak-native.js", import.meta.url).pathname;
  const args = ["--minutes", values.minutes];
  if (values["round-seconds"] !== undefined) args.push("--round-seconds", values["round-seconds"]);
  if (values.churn !== undefined) args.push("--churn", values.churn);
  const child = spawn(process.execPath, [native, ...args], { stdio: "inherit" });
  const [code] = (await once(child, "exit")) as [number | null];
  process.exit(code ?? 1);
}
const minutes = Number(values.minutes);
const seed = Number(values.seed);
if (!(minutes > 0) || !Number.isInteger(seed)) throw new Error("usage: soak [--minutes M>0] [--seed INT] [--engine E]");

/** The whole eval set, each utterance followed by a pause, repeated to fill `minutes`. */
function soakAudio(): Int16Array {
  const clips = loadEvalSet().map((u) => loadPcm(u.path));
  const wanted = Math.round(minutes * 60_000 * SAMPLES_PER_MS);
  const out = new Int16Array(wanted);
  let at = 0;
  for (let i = 0; at < wanted; i++) {
    const clip = clips[i % clips.length] ?? new Int16Array(0);
    out.set(clip.subarray(0, wanted - at), at);
    at += clip.length + PAUSE_MS * SAMPLES_PER_MS;
  }
  return out;
}

async function serve(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [BIN, "serve", "--engine", values.engine ?? "pocketsphinx", "--port", "0", "--api-key", KEY],
    { env: { ...process.env, EARSHOT_LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  let stdout = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const ready = /earshot ready on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
    if (ready) return { child, port: Number(ready[1]) };
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  child.kill("SIGKILL");
  throw new Error(`earshot serve did not start: ${stdout}`);
}

/** Resident memory of a process, in MB (Linux /proc, else ps). */
function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {}
  return Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim()) / 1024;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a stream has seen so far (filled in as it goes, so a crashed server still leaves numbers). */
interface StreamOutcome {
  readonly finals: TranscriptMessage[];
  duplicates: number;
  lostMs: number;
  closeCode: number | undefined;
  readonly reconnectMs: number[];
  resumedAll: boolean;
  heartbeatDrops: number;
}

const newOutcome = (): StreamOutcome => ({
  finals: [],
  duplicates: 0,
  lostMs: 0,
  closeCode: undefined,
  reconnectMs: [],
  resumedAll: true,
  heartbeatDrops: 0,
});

/** One stream of `pcm` through the SDK at `url`, `speed` times faster than real time, into `outcome`. */
async function stream(url: string, pcm: Int16Array, speed: number, outcome: StreamOutcome): Promise<void> {
  const client = new EarshotClient({
    url,
    apiKey: KEY,
    config: { language: "en", timestamp_granularity: "word" },
    reconnect: { random: mulberry32(seed) },
    closeTimeoutMs: 120_000,
  });
  const { finals } = outcome;
  let droppedAt: number | undefined;
  client.on("final", (final) => {
    if (finals.some((f) => f.segment_id >= final.segment_id)) outcome.duplicates += 1;
    finals.push(final);
  });
  client.on("audio_lost", (loss) => {
    outcome.lostMs += loss.lostMs;
  });
  client.on("state", (change: StateChange) => {
    if (change.to === "reconnecting" && change.from !== "reconnecting") {
      droppedAt = Date.now();
      if (change.error?.message.startsWith("No message from the server")) outcome.heartbeatDrops += 1;
    }
    if (change.from === "reconnecting" && change.to === "open" && droppedAt !== undefined) {
      outcome.reconnectMs.push(Date.now() - droppedAt);
      droppedAt = undefined;
      if (change.resumed !== true) outcome.resumedAll = false;
    }
  });
  await client.connect();
  const pieceSamples = PIECE_MS * SAMPLES_PER_MS;
  const startedAt = Date.now();
  for (let i = 0; i * pieceSamples < pcm.length; i++) {
    client.send(pcm.subarray(i * pieceSamples, (i + 1) * pieceSamples));
    await sleep(Math.max(0, startedAt + ((i + 1) * PIECE_MS) / speed - Date.now()));
  }
  const result = await client.close();
  outcome.lostMs = Math.max(outcome.lostMs, result.lostMs);
  outcome.closeCode = result.code;
}

const words = (finals: readonly TranscriptMessage[]) =>
  finals
    .map((f) => f.text)
    .filter(Boolean)
    .join(" ")
    .split(" ");

async function main(): Promise<void> {
  const command = `node bench/dist/soak.js --minutes ${minutes} --engine ${values.engine} --seed ${seed}`;
  const machine = describeMachine(command);
  const audio = soakAudio();
  const server = await serve();
  const rssStart = rssMb(server.child.pid ?? 0);
  const proxy = new FaultProxy({ target: { host: "127.0.0.1", port: server.port }, seed });
  const proxyUrl = await proxy.listen();
  console.log(`soak: ${minutes} min of eval speech in real time, engine ${values.engine}, seed ${seed}`);
  const chaos = { cutEveryMs: [2000, 10_000], stallProbability: 0.1, stallMs: [1000, 8000] } as const;
  const progress = setInterval(() => {
    const c = proxy.counts;
    console.log(`  … ${c.cuts} cuts, ${c.stalls} stalls, server RSS ${rssMb(server.child.pid ?? 0).toFixed(0)} MB`);
  }, 60_000);
  const startedAt = Date.now();
  const outcome = newOutcome();
  const soakRun = stream(proxyUrl, audio, 1, outcome);
  // The first connection is not retried: chaos begins once it is up.
  await sleep(500);
  proxy.startChaos(chaos);
  const crashed = new Promise<string>((resolve) =>
    server.child.once("exit", (code, signal) =>
      resolve(`server exited (${signal ?? code}) after ${((Date.now() - startedAt) / 1000).toFixed(0)} s`),
    ),
  );
  const crash = await Promise.race([soakRun.then(() => undefined), crashed]);
  clearInterval(progress);
  const counts = proxy.counts;
  await proxy.close();
  const wallMs = Date.now() - startedAt;
  const rssEnd = crash ? Number.NaN : rssMb(server.child.pid ?? 0);

  // The same audio without faults, 4× real time (PocketSphinx keeps up; sending faster than the
  // engine decodes would overflow the replay buffer): what the transcript should be.
  let comparison = "not made (no server)";
  const soakWords = words(outcome.finals);
  if (!crash) {
    const clean = newOutcome();
    await stream(`http://127.0.0.1:${server.port}`, audio, CLEAN_SPEED, clean);
    const edits = wordEdits(words(clean.finals), soakWords);
    comparison = edits === 0 ? "identical" : `${edits} word edits apart`;
    if (clean.lostMs > 0) comparison += ` (the uninterrupted run lost ${clean.lostMs} ms)`;
  }
  if (!crash) {
    const exited = new Promise((resolve) => server.child.once("exit", resolve));
    server.child.kill("SIGTERM");
    await Promise.race([exited, sleep(10_000)]);
  }

  const lines = [
    `command: ${command}`,
    `machine: ${machine.cpuModel}, ${machine.logicalCores} cores, ${machine.memoryGiB.toFixed(1)} GiB; node ${machine.node}; pocketsphinx ${machine.pocketsphinx}; code ${machine.code}`,
    `date: ${machine.date}`,
    ...(crash ? [`SERVER CRASHED: ${crash} (numbers below are up to the crash)`] : []),
    `streamed: ${(audio.length / SAMPLE_RATE / 60).toFixed(1)} min of audio in ${(wallMs / 60_000).toFixed(1)} min`,
    `faults: ${counts.cuts} cuts, ${counts.stalls} stalls (${outcome.heartbeatDrops} caught by the heartbeat), ${counts.connections} connections`,
    `lost audio: ${outcome.lostMs} ms`,
    `duplicated finals: ${outcome.duplicates}`,
    `finals: ${outcome.finals.length}; every reconnect resumed the session: ${outcome.resumedAll}`,
    `reconnect time (drop → open): p50 ${percentile(outcome.reconnectMs, 50)} ms, p95 ${percentile(outcome.reconnectMs, 95)} ms, max ${Math.max(...outcome.reconnectMs)} ms over ${outcome.reconnectMs.length} reconnects`,
    `server RSS: ${rssStart.toFixed(0)} MB at start, ${crash ? "n/a (crashed)" : `${rssEnd.toFixed(0)} MB`} at end`,
    `transcript vs. an uninterrupted run: ${comparison} (${soakWords.length} words)`,
    `close code: ${outcome.closeCode ?? "none"}`,
  ];
  for (const line of lines) console.log(line);
  const failed = crash !== undefined || outcome.lostMs > 0 || outcome.duplicates > 0 || outcome.closeCode !== 1000;
  // After a crash the client may still be waiting for a server: do not wait for it.
  process.exit(failed ? 1 : 0);
}

await main();
