/**
 * Issue 13: there was no maximum utterance length, so one endless utterance made every partial
 * longer than the last (and the decoder's work with it). Now a final is forced after
 * `maxUtteranceMs` of continuous speech, with `speech_final: false`, and the next words start a new
 * segment: the transcript stays complete, word for word.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { TEST_WORDS, TestEngine } from "@earshot/engines";
import { createServer } from "@earshot/server";
import { sample, scrape } from "../helpers/prometheus.js";
import { killAllServers, serveEngine } from "../helpers/serve-process.js";
import { bursts, toBytes } from "../helpers/signals.js";
import { type Received, WireClient } from "../helpers/ws-client.js";

const KEY = "utterance-key";
const WORD_SAMPLES = 3200; // 200 ms: one test-engine word

/**
 * Streams `toneMs` of speech, then `silenceMs`, and closes. In lock step: after each whole word it
 * waits for that word's partial, so the server has acted on it (and cut there, if due) before more
 * audio arrives, however loaded the machine is. A live client behaves alike, only slower.
 */
async function transcribe(url: string, toneMs: number, silenceMs: number): Promise<WireClient> {
  const pcm = bursts([{ toneMs, silenceMs }]);
  const client = await WireClient.open(url, KEY);
  client.sendJson({ type: "config", config: { model: "test", language: "en", timestamp_granularity: "word" } });
  await client.waitFor((m) => m.type === "session_started");
  for (let at = 0; at < toneMs * 16; at += WORD_SAMPLES) {
    const end = Math.min(at + WORD_SAMPLES, toneMs * 16);
    client.sendBinary(toBytes(pcm.subarray(at, end)));
    if (end - at < WORD_SAMPLES) break; // a part-word has no partial
    const endMs = end / 16;
    await client.waitFor((m) => m.type === "transcript" && m.end_ms === endMs, 5000, `the partial ending at ${endMs}`);
  }
  client.sendBinary(toBytes(pcm.subarray(toneMs * 16)));
  client.sendJson({ type: "close_stream" });
  await client.waitFor((m) => m.type === "stream_closed", 10_000, "stream_closed");
  return client;
}

/** The test engine's words for continuous speech over [0, endMs): one per 200 ms, named by start time. */
function expectedWords(endMs: number): string[] {
  return Array.from({ length: endMs / 200 }, (_, i) => TEST_WORDS[i % TEST_WORDS.length] ?? "");
}

const span = (m: Received) => [m.segment_id, m.start_ms, m.end_ms, m.speech_final];

describe("maximum utterance length (issue 13)", () => {
  after(() => killAllServers());

  it("7 s of continuous speech with a 2 s limit: forced finals at 2, 4 and 6 s, no word lost", async () => {
    const server = createServer({ engine: new TestEngine(), apiKeys: [KEY], maxUtteranceMs: 2000 });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    try {
      const client = await transcribe(url, 7000, 1000);
      const finals = client.finals();
      assert.deepEqual(finals.map(span), [
        [0, 0, 2000, false],
        [1, 2000, 4000, false],
        [2, 4000, 6000, false],
        [3, 6000, 7000, true],
      ]);
      assert.deepEqual(
        finals.flatMap((f) => String(f.text).split(" ")),
        expectedWords(7000),
      );
      const partials = client.messages.filter((m) => m.type === "transcript" && m.is_final === false);
      for (const p of partials) assert.ok(Number(p.end_ms) - Number(p.start_ms) <= 2000, JSON.stringify(span(p)));
      // Only the final at the pause ends an utterance.
      assert.deepEqual(
        client.messages.filter((m) => m.type === "utterance_end").map((m) => m.segment_id),
        [3],
      );
      assert.equal(sample(await scrape(url), "earshot_forced_finals_total"), 3);
    } finally {
      await server.close();
    }
  });

  it("earshot serve --max-utterance-ms sets it", async () => {
    const served = await serveEngine("test", 0, KEY, { args: ["--max-utterance-ms", "1000"] });
    const client = await transcribe(served.url, 2500, 500);
    assert.deepEqual(client.finals().map(span), [
      [0, 0, 1000, false],
      [1, 1000, 2000, false],
      [2, 2000, 2500, true],
    ]);
    // The last word is 100 ms of tone: a part-word counts as a word in a final.
    assert.deepEqual(
      client.finals().flatMap((f) => String(f.text).split(" ")),
      expectedWords(2600),
    );
  });
});
