/**
 * One engine path: the same eval files through OpenAI's batch endpoint (the `openai` SDK) and
 * through earshot's own streaming protocol (the earshot SDK) give the same words, so the same WER.
 * PocketSphinx's output does not depend on how the audio is chunked (see pocketsphinx-e2e.test.ts).
 */
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { after, before, describe, it } from "node:test";
import { EarshotClient } from "@earshot/client";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { createServer, type EarshotServer } from "@earshot/server";
import { loadEvalSet, loadPcm, normalizeWords, wer } from "@earshot/test-support";
import OpenAI from "openai";

const KEY = "parity-key";
const IDS = ["ls-1089-134691-0000", "ps-goforward", "ps-librivox-0880", "ps-forever-input2"];
const CHUNK = 1600;

async function viaStream(url: string, path: string): Promise<string> {
  const client = new EarshotClient({ url, apiKey: KEY, config: { language: "en" } });
  await client.connect();
  const pcm = loadPcm(path);
  for (let at = 0; at < pcm.length; at += CHUNK) {
    client.send(pcm.subarray(at, at + CHUNK));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const closed = await client.close();
  assert.equal(closed.code, 1000);
  return client.transcript.finalText;
}

describe("OpenAI batch and earshot streaming give the same words", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new PocketSphinxEngine({ workers: 2 }), apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });
  after(() => server.close());

  it(`${IDS.length} eval files: equal words and WER`, { timeout: 60_000 }, async (t) => {
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
    const utterances = loadEvalSet().filter((u) => IDS.includes(u.id));
    assert.equal(utterances.length, IDS.length);
    const batchPairs: [string, string][] = [];
    const streamPairs: [string, string][] = [];
    for (const utterance of utterances) {
      const [batch, streamed] = await Promise.all([
        openai.audio.transcriptions.create({ file: createReadStream(utterance.path), model: "whisper-1" }),
        viaStream(url, utterance.path),
      ]);
      const batchWords = normalizeWords(batch.text);
      const streamWords = normalizeWords(streamed);
      assert.deepEqual(batchWords, streamWords, utterance.id);
      batchPairs.push([utterance.text, batch.text]);
      streamPairs.push([utterance.text, streamed]);
    }
    const batchWer = wer(batchPairs);
    assert.deepEqual(batchWer, wer(streamPairs));
    t.diagnostic(`WER ${JSON.stringify(batchWer)} through both`);
  });
});
