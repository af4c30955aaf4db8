/**
 * AssemblyAI's Universal-Streaming v3 (`/v3/ws`) driven by the official `assemblyai` SDK (pinned)
 * against a real server with the PocketSphinx engine, behind a loopback TLS front (the SDK takes
 * only `wss:`): an eval file's words come back as `Turn`s, `format_turns` adds formatted copies,
 * `ForceEndpoint` ends a turn, the temporary-token flow works once per token, and a bad key is
 * refused with AssemblyAI's 1008.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { createServer, type EarshotServer } from "@earshot/server";
import { loadPcm, normalizeWords } from "@earshot/test-support";
import { AssemblyAI, type BeginEvent, type StreamingTranscriber, type TurnEvent } from "assemblyai";
import { sample, scrape } from "./helpers/prometheus.js";
import { type TlsFront, tlsFront, trustTestCertificate } from "./helpers/tls-front.js";

const KEY = "aai-key";
const WAV = new URL("../../test/fixtures/eval/en-16k/ps-goforward.wav", import.meta.url).pathname;
const EXPECTED = "go forward ten meters";
/** 100 ms frames, as AssemblyAI asks (50 to 1000 ms). */
const FRAME = 1600;

trustTestCertificate();

interface Run {
  readonly transcriber: StreamingTranscriber;
  readonly turns: TurnEvent[];
  readonly begin: BeginEvent;
}

async function open(client: AssemblyAI, wss: string, options: { token?: string; formatTurns?: boolean } = {}) {
  const transcriber = client.streaming.transcriber({
    websocketBaseUrl: `${wss}/v3/ws`,
    sampleRate: 16_000,
    speechModel: "universal-streaming-english",
    maxConnectionRetries: 0,
    connectTimeout: 10_000,
    ...(options.token ? { token: options.token } : {}),
    ...(options.formatTurns ? { formatTurns: true } : {}),
  });
  const turns: TurnEvent[] = [];
  transcriber.on("turn", (turn) => turns.push(turn));
  transcriber.on("error", () => {});
  const begin = await transcriber.connect();
  return { transcriber, turns, begin } satisfies Run;
}

async function sendPcm(transcriber: StreamingTranscriber, pcm: Int16Array): Promise<void> {
  for (let at = 0; at < pcm.length; at += FRAME) {
    const frame = pcm.slice(at, at + FRAME);
    transcriber.sendAudio(frame.buffer);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const endedText = (turns: readonly TurnEvent[]) =>
  turns
    .filter((turn) => turn.end_of_turn && !turn.turn_is_formatted)
    .map((turn) => turn.transcript)
    .join(" ");

describe("AssemblyAI streaming v3 with the assemblyai SDK", () => {
  let server: EarshotServer;
  let url: string;
  let front: TlsFront;
  let wss: string;
  let client: AssemblyAI;

  before(async () => {
    server = createServer({ engine: new PocketSphinxEngine({ workers: 1 }), apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
    front = await tlsFront(url);
    wss = front.url.replace(/^https/, "wss");
    client = new AssemblyAI({ apiKey: KEY, streamingBaseUrl: url });
  });
  after(async () => {
    await front.close();
    await server.close();
  });

  it("gives an eval file's words as Turns, formatted too, and ends with Termination", async () => {
    const run = await open(client, wss, { formatTurns: true });
    assert.match(run.begin.id, /^[0-9a-f-]{36}$/);
    assert.ok(run.begin.expires_at > Date.now() / 1000, "expires_at is in the future, in Unix seconds");
    await sendPcm(run.transcriber, loadPcm(WAV));
    await run.transcriber.close();
    assert.equal(normalizeWords(endedText(run.turns)).join(" "), EXPECTED);
    const ended = run.turns.filter((turn) => turn.end_of_turn && !turn.turn_is_formatted);
    const formatted = run.turns.filter((turn) => turn.turn_is_formatted);
    assert.equal(formatted.length, ended.length, "one formatted copy per ended turn");
    for (const [i, turn] of ended.entries()) {
      assert.equal(turn.turn_order, i);
      assert.equal((turn as TurnEvent & { utterance?: string }).utterance, turn.transcript);
      assert.equal(turn.end_of_turn_confidence, 1);
      assert.ok(turn.words.length > 0 && turn.words.every((w) => w.word_is_final && Number.isInteger(w.start)));
      assert.deepEqual(
        turn.words.map((w) => w.text),
        turn.transcript.split(" "),
      );
      const copy = formatted[i];
      assert.equal(copy?.turn_order, i);
      assert.match(copy?.transcript ?? "", /^[A-Z0-9].*\.$/, "capital first letter, full stop");
    }
    assert.match(formatted.map((t) => t.transcript).join(" "), /10/, "numerals in the formatted turns");
    const partials = run.turns.filter((turn) => !turn.end_of_turn);
    assert.ok(partials.length > 0, "partials as Turns with end_of_turn: false");
    assert.ok(partials.every((turn) => turn.transcript === "" && turn.words.every((w) => !w.word_is_final)));
    const metrics = await scrape(url);
    assert.equal(sample(metrics, 'earshot_assemblyai_streams_total{result="ok"}'), 1);
    assert.ok(sample(metrics, "earshot_assemblyai_audio_seconds_total") > 2);
  });

  it("ForceEndpoint ends the turn in progress", async () => {
    const run = await open(client, wss);
    const pcm = loadPcm(WAV);
    await sendPcm(run.transcriber, pcm.subarray(0, Math.floor(pcm.length * 0.6)));
    run.transcriber.forceEndpoint();
    const deadline = Date.now() + 20_000;
    while (!run.turns.some((turn) => turn.end_of_turn) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const ended = run.turns.find((turn) => turn.end_of_turn);
    assert.ok(ended, "an ended turn before Terminate");
    assert.ok(normalizeWords(ended.transcript).length > 0);
    await run.transcriber.close();
  });

  it("takes a temporary token once, and refuses a wrong key with 1008", async () => {
    const token = await client.streaming.createTemporaryToken({ expires_in_seconds: 60 });
    const browser = new AssemblyAI({ apiKey: "unused-in-the-browser", streamingBaseUrl: url });
    const run = await open(browser, wss, { token });
    await sendPcm(run.transcriber, loadPcm(WAV));
    await run.transcriber.close();
    assert.equal(normalizeWords(endedText(run.turns)).join(" "), EXPECTED);
    await assert.rejects(open(browser, wss, { token }), (error: Error & { code?: number }) => {
      assert.equal(error.code, 1008);
      assert.match(error.message, /^Unauthorized Connection: /);
      return true;
    });
    const wrong = new AssemblyAI({ apiKey: "not-a-key", streamingBaseUrl: url });
    await assert.rejects(open(wrong, wss), (error: Error & { code?: number }) => error.code === 1008);
    await assert.rejects(wrong.streaming.createTemporaryToken({ expires_in_seconds: 60 }), /Invalid API key/);
  });
});
