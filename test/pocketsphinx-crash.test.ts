/**
 * No native crash takes the server down, nor costs a stream (issue 15): a real server with the
 * engine `earshot serve` ships (PocketSphinx with FAST_DECODER_ARGS behind the Silero VAD gate),
 * decoding in two child processes, two streams of real speech, one on each, and one process killed
 * with SIGABRT mid-utterance, as glibc ends a process whose heap libpocketsphinx corrupted. The
 * server still answers; the killed process's stream continues on the replacement from its last
 * checkpoint, and both streams' transcripts are the uninterrupted run's: every final, its text,
 * span and word times, none missing, none twice, no error. New streams work on both processes.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FAST_DECODER_ARGS, PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { createServer, type EarshotServer } from "@earshot/server";
import { VadGatedEngine } from "@earshot/vad";
import { toBytes } from "./helpers/signals.js";
import { speechStream } from "./helpers/speech.js";
import { SEED_CONFIG, WireClient } from "./helpers/ws-client.js";

/** Where a stream is: how far it has sent, and what it waits for at `KILL_AT_SAMPLE`, if anything. */
interface Progress {
  samples: number;
  hold?: Promise<void>;
  held?: boolean;
}

const KEY = "crash-key";
const CLIPS = ["ps-goforward", "ls-1089-134691-0000", "ps-cards-005"];
const PAUSE_MS = 800;
/** Utterances with pauses: the first one's final comes before the kill, the second is cut by it. */
const AUDIO = speechStream(CLIPS, PAUSE_MS);
/** Where the streams wait for the kill: half a second into the second utterance. */
const KILL_AT_SAMPLE = speechStream(CLIPS.slice(0, 1), PAUSE_MS).length + 8_000;
/** Faster than real time, slow enough that the kill lands mid-stream. */
const SPEED = 4;
const FRAME_SAMPLES = 1_600;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: EarshotServer;
let engine: PocketSphinxEngine;
let url: string;

before(async () => {
  engine = new PocketSphinxEngine({ workers: 2, decoderArgs: FAST_DECODER_ARGS });
  server = createServer({ engine: new VadGatedEngine(engine), apiKeys: [KEY] });
  ({ url } = await server.listen({ port: 0 }));
  await server.ready;
});

after(() => server.close());

/** A session that is open and configured. */
async function openSession(): Promise<WireClient> {
  const client = await WireClient.open(url, KEY);
  client.sendJson({ type: "config", config: SEED_CONFIG });
  await client.waitFor((m) => m.type === "session_started");
  return client;
}

/**
 * Sends `AUDIO` in 100 ms frames at `SPEED` (waiting for `progress.hold` at `KILL_AT_SAMPLE`), then
 * closes the stream, unless the server closed it first.
 */
async function stream(client: WireClient, progress: Progress): Promise<void> {
  const open = () => client.ws.readyState === client.ws.OPEN;
  for (let at = 0; at < AUDIO.length && open(); at += FRAME_SAMPLES) {
    if (at >= KILL_AT_SAMPLE && !progress.held) {
      progress.held = true;
      await progress.hold;
    }
    client.sendBinary(toBytes(AUDIO.subarray(at, at + FRAME_SAMPLES)));
    progress.samples = at + FRAME_SAMPLES;
    await sleep(100 / SPEED);
  }
  if (open()) {
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed", 30_000, "stream_closed");
  }
  await client.closed;
}

/** Each final as the application sees it: segment id, text, span and word times (not confidences: sdk-run.ts `summary`). */
const finals = (client: WireClient) =>
  client
    .finals()
    .map((m) =>
      JSON.stringify([
        m.segment_id,
        m.text,
        m.start_ms,
        m.end_ms,
        (m.words as Array<{ word: string; start_ms: number; end_ms: number }> | undefined)?.map((w) => [
          w.word,
          w.start_ms,
          w.end_ms,
        ]),
      ]),
    );

async function uninterrupted(): Promise<string[]> {
  const client = await openSession();
  await stream(client, { samples: 0 });
  return finals(client);
}

test("a decoding process killed with SIGABRT mid-utterance costs no stream: both transcripts are the uninterrupted run's", async () => {
  const reference = await uninterrupted();
  assert.ok(reference.length >= 3, `finals: ${JSON.stringify(reference)}`);

  const clients = [await openSession(), await openSession()];
  const before = engine.processes;
  assert.equal(before.length, 2);
  assert.deepEqual(
    before.map((p) => p.streams),
    [1, 1],
    "one stream on each process",
  );
  let release = () => {};
  const hold = new Promise<void>((resolve) => {
    release = resolve;
  });
  const progress: Progress[] = clients.map(() => ({ samples: 0, hold }));
  const streaming = clients.map((client, i) => stream(client, progress[i] as Progress));
  // Mid-stream: both have had their first final and sent half a second of the second utterance.
  const deadline = Date.now() + 30_000;
  while (
    !clients.every((client) => client.finals().length > 0) ||
    !progress.every((p) => p.samples >= KILL_AT_SAMPLE)
  ) {
    assert.ok(Date.now() < deadline, "the streams did not reach the kill");
    await sleep(20);
  }
  const killed = before[0]?.pid as number;
  process.kill(killed, "SIGABRT");
  // The rest of the audio follows once the process is gone (its stream is on its way elsewhere).
  const gone = Date.now() + 10_000;
  while (engine.processes.some((p) => p.pid === killed)) {
    assert.ok(Date.now() < gone, "the killed process is still listed");
    await sleep(20);
  }
  release();
  await Promise.all(streaming);

  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  for (const [i, client] of clients.entries()) {
    assert.deepEqual(
      client.messages.filter((m) => m.type === "error"),
      [],
      `stream ${i} got an error`,
    );
    assert.deepEqual(finals(client), reference, `stream ${i}: the uninterrupted run's finals`);
  }

  // The pool replaced the killed process; new streams land on both processes and decode as before.
  const replaced = Date.now() + 15_000;
  while (engine.processes.length < 2) {
    assert.ok(Date.now() < replaced, "no replacement process");
    await sleep(100);
  }
  assert.ok(!engine.processes.some((p) => p.pid === killed));
  const next = [await openSession(), await openSession()];
  assert.deepEqual(engine.processes.map((p) => p.streams).sort(), [1, 1]);
  await Promise.all(next.map((client) => stream(client, { samples: 0 })));
  for (const client of next) assert.deepEqual(finals(client), reference);
});
