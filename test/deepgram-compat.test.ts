/**
 * Deepgram's live `/v1/listen` driven by Deepgram's own SDK (`@deepgram/sdk`, pinned) against a
 * real server with the PocketSphinx engine.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { createServer, type EarshotServer } from "@earshot/server";
import { loadEvalSet, loadPcm, normalizeWords } from "@earshot/test-support";
import { finalText, isResults, linear16, listenWithSdk } from "./helpers/deepgram-live.js";

const KEY = "deepgram-key";
const EXPECTED = "go forward ten meters";

describe("Deepgram /v1/listen with @deepgram/sdk", () => {
  let server: EarshotServer;
  let url: string;
  const goForward = () => loadPcm(loadEvalSet().find((u) => u.id === "ps-goforward")?.path ?? "");

  before(async () => {
    server = createServer({ engine: new PocketSphinxEngine({ workers: 1 }), apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });
  after(() => server.close());

  it("transcribes linear16 16 kHz: Results with words, then Metadata, then close 1000", async () => {
    const run = await listenWithSdk(
      url,
      KEY,
      { model: "nova-3", encoding: "linear16", sample_rate: 16000, interim_results: true },
      linear16(goForward()),
      3200,
    );
    assert.equal(run.closeCode, 1000);
    assert.equal(normalizeWords(finalText(run.messages)).join(" "), EXPECTED);
    const results = run.messages.filter(isResults);
    assert.ok(
      results.some((m) => !m.is_final),
      "interim results",
    );
    for (const m of results) assert.deepEqual(m.channel_index, [0, 1]);
    const last = run.messages.at(-1);
    assert.equal(last?.type, "Metadata");
    console.log(JSON.stringify(run.messages.slice(-3), null, 1));
  });
});
