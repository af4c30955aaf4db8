/**
 * Warm decoders lent per utterance (issue 15) against real servers, real sockets and real speech,
 * with the engine `earshot serve` ships (PocketSphinx with FAST_DECODER_ARGS behind the VAD gate):
 * - pooling does not change words: every eval file decoded by streams that borrow decoders from a
 *   shared pool (all at once, two decoders for fourteen streams) gives the finals it gives on a
 *   decoder of its own: word for word with the shipped settings, and time for time too with the
 *   library's (with `-maxhmmpf 3000` a decoder's past can move a word boundary by 10 ms,
 *   docs/engines.md "Decoder settings"; word confidences, lattice posteriors, are not compared);
 * - a burst of 8 streams on a warm server: all admitted, every transcript its file's, no decoder
 *   made on the connect path, and no utterance waited for one (the 8 warm ones sufficed);
 * - more speakers than decoders: utterances wait for one with their audio queued, nothing dropped.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FAST_DECODER_ARGS, PocketSphinxEngine, type PocketSphinxOptions } from "@earshot/engine-pocketsphinx";
import { createServer, type EarshotServer } from "@earshot/server";
import { loadEvalSet } from "@earshot/test-support";
import { VadGatedEngine } from "@earshot/vad";
import { toBytes } from "./helpers/signals.js";
import { speechStream } from "./helpers/speech.js";
import { SEED_CONFIG, WireClient } from "./helpers/ws-client.js";

const KEY = "pool-key";
const FRAME_SAMPLES = 1_600;
const IDS = loadEvalSet().map((utterance) => utterance.id);
/** Each file with a second of silence after it, so its last utterance ends at a pause. */
const AUDIO = new Map(IDS.map((id) => [id, speechStream([id], 1_000)]));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function serve(options: PocketSphinxOptions): Promise<{ server: EarshotServer; url: string }> {
  const engine = new VadGatedEngine(new PocketSphinxEngine({ decoderArgs: FAST_DECODER_ARGS, ...options }));
  return listen(engine);
}

async function listen(engine: VadGatedEngine): Promise<{ server: EarshotServer; url: string }> {
  const server = createServer({ engine, apiKeys: [KEY] });
  const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
  await server.ready;
  return { server, url };
}

interface Final {
  /** Segment id and text. */
  readonly words: string;
  /** Segment id, text, span, words and word times. */
  readonly key: string;
}

/** Streams `id` in 100 ms binary frames at `speed`× real time; its finals as the application sees them. */
async function transcribe(url: string, id: string, speed: number): Promise<Final[]> {
  const client = await WireClient.open(url, KEY);
  client.sendJson({ type: "config", config: SEED_CONFIG });
  await client.waitFor((m) => m.type === "session_started", 30_000, "session_started");
  const audio = AUDIO.get(id) as Int16Array;
  for (let at = 0; at < audio.length; at += FRAME_SAMPLES) {
    client.sendBinary(toBytes(audio.subarray(at, at + FRAME_SAMPLES)));
    await sleep(100 / speed);
  }
  client.sendJson({ type: "close_stream" });
  await client.waitFor((m) => m.type === "stream_closed", 60_000, "stream_closed");
  await client.closed;
  assert.deepEqual(
    client.messages.filter((m) => m.type === "error"),
    [],
    `${id}: errors`,
  );
  return client.finals().map((m) => {
    const words = (m.words ?? []) as Array<{ word: string; start_ms: number; end_ms: number }>;
    return {
      words: JSON.stringify([m.segment_id, m.text]),
      key: JSON.stringify([
        m.segment_id,
        m.text,
        m.start_ms,
        m.end_ms,
        words.map((w) => [w.word, w.start_ms, w.end_ms]),
      ]),
    };
  });
}

/** The same finals: segment ids and texts, and with `times` their spans and word times. */
function assertSame(actual: Final[] | undefined, expected: Final[] | undefined, id: string, times = true): void {
  const pick = (f: Final) => (times ? f.key : f.words);
  assert.deepEqual(actual?.map(pick), expected?.map(pick), id);
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  assert.ok(line, `no metric ${name}`);
  return Number(line.split(" ")[1]);
}

/** Each file alone on a decoder of its own (no lending): what pooled streams must give. */
const reference = new Map<string, Final[]>();
/** The same with the library's decoder settings. */
const libraryReference = new Map<string, Final[]>();
const LIBRARY = (options: PocketSphinxOptions) => new VadGatedEngine(new PocketSphinxEngine(options));

before(async () => {
  const { server, url } = await serve({ workers: 1, decoders: 1, maxDecoders: 1, lend: false });
  const library = await listen(LIBRARY({ workers: 1, decoders: 1, maxDecoders: 1, lend: false }));
  try {
    for (const id of IDS) reference.set(id, await transcribe(url, id, 8));
    for (const id of IDS) libraryReference.set(id, await transcribe(library.url, id, 8));
  } finally {
    await server.close();
    await library.server.close();
  }
});

describe("decoders lent per utterance", () => {
  test("fourteen streams at once sharing two decoders give each file's words (shipped settings)", async () => {
    const { server, url } = await serve({ workers: 1, decoders: 2, maxDecoders: 2 });
    try {
      const results = await Promise.all(IDS.map((id) => transcribe(url, id, 4)));
      for (const [i, id] of IDS.entries()) assertSame(results[i], reference.get(id), id, false);
      assert.ok((await metric(url, "earshot_decoder_waits_total")) > 0, "utterances waited for a decoder");
      assert.equal(await metric(url, "earshot_decoder_pool_size"), 2);
    } finally {
      await server.close();
    }
  });

  test("fourteen streams at once sharing two decoders give each file's words and times (library settings)", async () => {
    const { server, url } = await listen(LIBRARY({ workers: 1, decoders: 2, maxDecoders: 2 }));
    try {
      const results = await Promise.all(IDS.map((id) => transcribe(url, id, 4)));
      for (const [i, id] of IDS.entries()) assertSame(results[i], libraryReference.get(id), id);
      assert.ok((await metric(url, "earshot_decoder_waits_total")) > 0, "utterances waited for a decoder");
    } finally {
      await server.close();
    }
  });

  describe("a burst of 8 streams on a warm server", () => {
    let server: EarshotServer;
    let url: string;
    after(() => server?.close());

    test("all admitted, each transcript its file's, no decoder made on the connect path, none waited for", async () => {
      ({ server, url } = await serve({ workers: 2 }));
      assert.equal(await metric(url, "earshot_decoder_pool_size"), 16, "8 warm decoders per process before /readyz");
      const ids = IDS.slice(0, 8);
      // Real time: eight live calls that connect within the same few milliseconds.
      const results = await Promise.all(ids.map((id) => transcribe(url, id, 1)));
      for (const [i, id] of ids.entries()) assertSame(results[i], reference.get(id), id, false);
      const created = await (await fetch(`${url}/metrics`)).text();
      assert.match(created, /earshot_decoders_created_total\{when="connect"\} 0\n/);
      assert.match(created, /earshot_decoders_created_total\{when="startup"\} 16\n/);
      assert.equal(await metric(url, "earshot_decoder_waits_total"), 0, "no utterance waited for a decoder");
      assert.equal(await metric(url, "earshot_decoder_pool_lent"), 0, "every decoder given back");
    });
  });
});
