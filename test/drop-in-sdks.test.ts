/**
 * Issue 17's "done when": the four official client packages (`openai`, `@deepgram/sdk`,
 * `@livekit/agents-plugin-deepgram`, `assemblyai`), each pointed at earshot by its base-URL option,
 * transcribe eval speech against a real `earshot serve` process (the CLI, PocketSphinx behind the VAD
 * gate, as a user runs it) with the same words, so the same WER, as earshot's own protocol on the
 * same files. The surfaces' own tests (openai-*, deepgram-*, assemblyai-*) cover each in depth.
 */
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { after, before, describe, it } from "node:test";
import { loadEvalSet, loadPcm, normalizeWords, type Utterance, wer } from "@earshot/test-support";
import { DEFAULT_ENDPOINTING_MS } from "@earshot/vad";
import { initializeLogger, stt } from "@livekit/agents";
import * as livekitDeepgram from "@livekit/agents-plugin-deepgram";
import { AudioFrame } from "@livekit/rtc-node";
import { AssemblyAI } from "assemblyai";
import OpenAI from "openai";
import { transcribeWithAssemblyAi } from "./helpers/assemblyai-stream.js";
import { finalText, linear16, listenWithSdk } from "./helpers/deepgram-live.js";
import { type Served, serveEarshot } from "./helpers/earshot-cli.js";
import { viaEarshotProtocol } from "./helpers/earshot-wire.js";
import { type TlsFront, tlsFront, trustTestCertificate } from "./helpers/tls-front.js";

const KEY = "drop-in-key";
const IDS = ["ls-1089-134691-0000", "ps-goforward", "ps-librivox-0880"];
/** LiveKit rooms deliver 10 ms frames. */
const LIVEKIT_FRAME = 160;

trustTestCertificate();
const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

async function viaOpenAi(http: string, utterance: Utterance): Promise<string> {
  const client = new OpenAI({ baseURL: `${http}/v1`, apiKey: KEY, maxRetries: 0 });
  const { text } = await client.audio.transcriptions.create({
    file: createReadStream(utterance.path),
    model: "whisper-1",
  });
  return text;
}

async function viaDeepgram(ws: string, pcm: Int16Array): Promise<string> {
  const run = await listenWithSdk(
    ws,
    KEY,
    { model: "nova-3", encoding: "linear16", sample_rate: 16_000 },
    linear16(pcm),
    3_200,
  );
  assert.equal(run.closeCode, 1000);
  return finalText(run.messages);
}

/**
 * LiveKit's stream has no end that waits for the last finals (its `endInput` closes the socket at
 * the next message), so after `flush` (Deepgram's Finalize) the finals are read until their words
 * are `expected`, or for at most 20 s; the caller compares them.
 */
async function viaLiveKit(ws: string, pcm: Int16Array, expected: string): Promise<string> {
  // LiveKit's defaults differ from a plain stream's: smart_format turns "ten" into "10", and
  // endpointing=25 ends utterances at every short pause. Set as earshot's own stream has them.
  const recognizer = new livekitDeepgram.STT({
    apiKey: KEY,
    baseUrl: ws,
    smartFormat: false,
    endpointing: DEFAULT_ENDPOINTING_MS,
  });
  const stream = recognizer.stream();
  const finals: string[] = [];
  const heard = () => normalizeWords(finals.join(" ")).join(" ") === normalizeWords(expected).join(" ");
  const reading = (async () => {
    for await (const event of stream) {
      if (event.type === stt.SpeechEventType.FINAL_TRANSCRIPT) finals.push(event.alternatives?.[0]?.text ?? "");
      if (heard()) return;
    }
  })();
  for (let at = 0; at < pcm.length; at += LIVEKIT_FRAME) {
    const samples = pcm.slice(at, at + LIVEKIT_FRAME);
    stream.pushFrame(new AudioFrame(samples, 16_000, 1, samples.length));
    if (at % (LIVEKIT_FRAME * 10) === 0) await pause();
  }
  // A second of silence after the words, as a room sends, then Finalize.
  for (let i = 0; i < 100; i++)
    stream.pushFrame(new AudioFrame(new Int16Array(LIVEKIT_FRAME), 16_000, 1, LIVEKIT_FRAME));
  stream.flush();
  await Promise.race([reading, new Promise((resolve) => setTimeout(resolve, 20_000))]);
  stream.close();
  await recognizer.close();
  return finals.join(" ");
}

describe("the four vendors' SDKs against a real earshot serve", { timeout: 300_000 }, () => {
  let served: Served;
  let front: TlsFront;
  let http: string;

  before(async () => {
    initializeLogger({ pretty: false, level: "warn" });
    served = await serveEarshot([], KEY);
    http = served.url.replace(/^ws/, "http");
    front = await tlsFront(http);
  });
  after(async () => {
    await front?.close();
    await served?.stop();
  });

  it(`${IDS.length} eval files: every SDK gives earshot's own words and WER`, { timeout: 240_000 }, async (t) => {
    const utterances = loadEvalSet().filter((u) => IDS.includes(u.id));
    assert.equal(utterances.length, IDS.length);
    const wss = front.url.replace(/^https/, "wss");
    const surfaces = {
      openai: (u: Utterance) => viaOpenAi(http, u),
      deepgram: (u: Utterance) => viaDeepgram(served.url, loadPcm(u.path)),
      livekit: (u: Utterance, own: string) => viaLiveKit(served.url, loadPcm(u.path), own),
      assemblyai: (u: Utterance) =>
        transcribeWithAssemblyAi(new AssemblyAI({ apiKey: KEY, streamingBaseUrl: http }), wss, loadPcm(u.path)),
    };
    const own: [string, string][] = [];
    const pairs = new Map<string, [string, string][]>(Object.keys(surfaces).map((name) => [name, []]));
    for (const utterance of utterances) {
      const pcm = loadPcm(utterance.path);
      const ownText = await viaEarshotProtocol(served.url, KEY, linear16(pcm), "pcm_s16le", 3_200);
      assert.ok(normalizeWords(ownText).length > 0, utterance.id);
      own.push([utterance.text, ownText]);
      for (const [name, transcribe] of Object.entries(surfaces)) {
        const text = await transcribe(utterance, ownText);
        assert.deepEqual(normalizeWords(text), normalizeWords(ownText), `${name}, ${utterance.id}`);
        pairs.get(name)?.push([utterance.text, text]);
      }
    }
    const ownWer = wer(own);
    for (const [name, surface] of pairs) assert.deepEqual(wer(surface), ownWer, name);
    t.diagnostic(`WER ${JSON.stringify(ownWer)} through earshot's protocol and all four SDKs`);
  });
});
