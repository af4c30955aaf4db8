/**
 * One engine path: the same eval files through Deepgram's live `/v1/listen` (the `@deepgram/sdk`
 * live client) and through earshot's own streaming protocol (the same bytes, the same chunks) give
 * the same words, so the same WER; for 16 kHz linear16 and for 8 kHz μ-law.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { mulawDecode } from "@earshot/audio";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import type { Encoding } from "@earshot/protocol";
import { createServer, type EarshotServer } from "@earshot/server";
import {
  loadEvalSet,
  loadMulaw,
  loadPcm,
  loadTelephoneSet,
  normalizeWords,
  type Utterance,
  wer,
} from "@earshot/test-support";
import { finalText, linear16, listenWithSdk } from "./helpers/deepgram-live.js";
import { viaEarshotProtocol } from "./helpers/earshot-wire.js";

const KEY = "parity-key";
const IDS = ["ls-1089-134691-0000", "ps-goforward", "ps-librivox-0880", "ps-forever-input2"];

interface Case {
  readonly name: string;
  readonly utterances: () => Utterance[];
  readonly audio: (path: string) => Uint8Array;
  readonly query: Record<string, string | number>;
  readonly encoding: Encoding;
  readonly chunkBytes: number;
  /** What earshot's own stream sends, when not `audio` in `encoding`. */
  readonly own?: {
    readonly audio: (path: string) => Uint8Array;
    readonly encoding: Encoding;
    readonly chunkBytes: number;
  };
}

const CASES: Case[] = [
  {
    name: "linear16 16 kHz",
    utterances: loadEvalSet,
    audio: (path) => linear16(loadPcm(path)),
    query: { encoding: "linear16", sample_rate: 16000 },
    encoding: "pcm_s16le",
    chunkBytes: 3200,
  },
  {
    name: "mulaw 8 kHz",
    utterances: loadTelephoneSet,
    audio: loadMulaw,
    query: { encoding: "mulaw", sample_rate: 8000 },
    encoding: "mulaw",
    chunkBytes: 800,
  },
  {
    // Telephone audio as 8 kHz linear16: upsampled and band-extended by the adapter, then decoded
    // with the telephone model, word for word as earshot's own μ-law stream of the same bytes.
    name: "linear16 8 kHz (telephone audio)",
    utterances: loadTelephoneSet,
    audio: (path) => linear16(mulawDecode(loadMulaw(path))),
    query: { encoding: "linear16", sample_rate: 8000 },
    encoding: "pcm_s16le",
    chunkBytes: 1600,
    own: { audio: loadMulaw, encoding: "mulaw", chunkBytes: 800 },
  },
];

describe("Deepgram /v1/listen and earshot streaming give the same words", { timeout: 300_000 }, () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new PocketSphinxEngine({ workers: 2 }), apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });
  after(() => server.close());

  for (const testCase of CASES) {
    it(`${IDS.length} eval files, ${testCase.name}: equal words and WER`, { timeout: 120_000 }, async (t) => {
      const utterances = testCase.utterances().filter((u) => IDS.includes(u.id));
      assert.equal(utterances.length, IDS.length);
      const deepgramPairs: [string, string][] = [];
      const earshotPairs: [string, string][] = [];
      for (const utterance of utterances) {
        const audio = testCase.audio(utterance.path);
        const [deepgram, earshot] = await Promise.all([
          listenWithSdk(url, KEY, { model: "nova-3", ...testCase.query }, audio, testCase.chunkBytes),
          testCase.own
            ? viaEarshotProtocol(
                url,
                KEY,
                testCase.own.audio(utterance.path),
                testCase.own.encoding,
                testCase.own.chunkBytes,
              )
            : viaEarshotProtocol(url, KEY, audio, testCase.encoding, testCase.chunkBytes),
        ]);
        assert.equal(deepgram.closeCode, 1000);
        const deepgramText = finalText(deepgram.messages);
        assert.ok(normalizeWords(earshot).length > 0, utterance.id);
        assert.deepEqual(normalizeWords(deepgramText), normalizeWords(earshot), utterance.id);
        deepgramPairs.push([utterance.text, deepgramText]);
        earshotPairs.push([utterance.text, earshot]);
      }
      const deepgramWer = wer(deepgramPairs);
      assert.deepEqual(deepgramWer, wer(earshotPairs));
      t.diagnostic(`${testCase.name}: WER ${JSON.stringify(deepgramWer)} through both`);
    });
  }
});
