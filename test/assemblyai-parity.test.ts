/**
 * One engine path: the same eval files through AssemblyAI's `/v3/ws` (the `assemblyai` SDK, behind
 * a loopback TLS front) and through earshot's own streaming protocol (the earshot SDK) give the same
 * words, so the same WER. The turns' words are the ended, unformatted `Turn`s' transcripts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EarshotClient } from "@earshot/client";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { createServer, type EarshotServer } from "@earshot/server";
import { loadEvalSet, loadPcm, normalizeWords, wer } from "@earshot/test-support";
import { AssemblyAI } from "assemblyai";
import { transcribeWithAssemblyAi } from "./helpers/assemblyai-stream.js";
import { type TlsFront, tlsFront, trustTestCertificate } from "./helpers/tls-front.js";

const KEY = "parity-key";
const IDS = ["ls-1089-134691-0000", "ps-goforward", "ps-librivox-0880", "ps-forever-input2"];
const CHUNK = 1600;

trustTestCertificate();

const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

async function viaEarshot(url: string, path: string): Promise<string> {
  const client = new EarshotClient({ url, apiKey: KEY, config: { language: "en" } });
  await client.connect();
  const pcm = loadPcm(path);
  for (let at = 0; at < pcm.length; at += CHUNK) {
    client.send(pcm.subarray(at, at + CHUNK));
    await pause();
  }
  const closed = await client.close();
  assert.equal(closed.code, 1000);
  return client.transcript.finalText;
}

describe("AssemblyAI streaming and earshot streaming give the same words", () => {
  let server: EarshotServer;
  let url: string;
  let front: TlsFront;

  before(async () => {
    server = createServer({ engine: new PocketSphinxEngine({ workers: 2 }), apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
    front = await tlsFront(url);
  });
  after(async () => {
    await front.close();
    await server.close();
  });

  it(`${IDS.length} eval files: equal words and WER`, { timeout: 90_000 }, async (t) => {
    const client = new AssemblyAI({ apiKey: KEY, streamingBaseUrl: url });
    const wss = front.url.replace(/^https/, "wss");
    const utterances = loadEvalSet().filter((u) => IDS.includes(u.id));
    assert.equal(utterances.length, IDS.length);
    const aaiPairs: [string, string][] = [];
    const earshotPairs: [string, string][] = [];
    for (const utterance of utterances) {
      const [viaAai, viaOwn] = await Promise.all([
        transcribeWithAssemblyAi(client, wss, loadPcm(utterance.path)),
        viaEarshot(url, utterance.path),
      ]);
      assert.ok(normalizeWords(viaAai).length > 0, utterance.id);
      assert.deepEqual(normalizeWords(viaAai), normalizeWords(viaOwn), utterance.id);
      aaiPairs.push([utterance.text, viaAai]);
      earshotPairs.push([utterance.text, viaOwn]);
    }
    const aaiWer = wer(aaiPairs);
    assert.deepEqual(aaiWer, wer(earshotPairs));
    t.diagnostic(`WER ${JSON.stringify(aaiWer)} through both`);
  });
});
