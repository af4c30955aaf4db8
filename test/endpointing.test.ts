/**
 * Endpointing over a real socket with the test engine (speech = tone; by default 300 ms of silence
 * ends an utterance): `endpointing_ms` reaches the engine and sets the pause that ends an
 * utterance, finals say whether they ended at a pause (`speech_final`), and an `utterance_end`
 * follows each final that did, naming its segment.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type EngineStream, type StreamOptions, TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { bursts, toBytes } from "./helpers/signals.js";
import { type Received, WireClient } from "./helpers/ws-client.js";

const KEY = "endpointing-key";

/** The test engine, remembering the options of every stream it opened. */
class RecordingEngine extends TestEngine {
  readonly opened: StreamOptions[] = [];

  override openStream(options: StreamOptions): Promise<EngineStream> {
    this.opened.push(options);
    return super.openStream(options);
  }
}

/** Everything but acks: the order of transcripts and utterance_end matters. */
const shown = (client: WireClient) => client.messages.filter((m) => m.type !== "ack");

describe("endpointing", () => {
  const engine = new RecordingEngine();
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine, apiKeys: [KEY], resumeGraceMs: 5000 });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  async function stream(config: object, pcm: Int16Array, end: "close_stream" | "none" = "close_stream") {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { model: "test", ...config } });
    await client.waitFor((m) => m.type === "session_started");
    client.sendBinary(toBytes(pcm));
    if (end === "close_stream") {
      client.sendJson({ type: "close_stream" });
      await client.waitFor((m) => m.type === "stream_closed");
    }
    return client;
  }

  const finalsOf = (client: WireClient) =>
    client.finals().map((f) => ({ id: f.segment_id, span: [f.start_ms, f.end_ms], speechFinal: f.speech_final }));
  const endsOf = (client: WireClient) =>
    client.messages
      .filter((m) => m.type === "utterance_end")
      .map((m) => ({ id: m.segment_id, lastWordEndMs: m.last_word_end_ms }));

  it("passes endpointing_ms to the engine as endpointingMs, and leaves it out when not set", async () => {
    engine.opened.length = 0;
    await stream({ endpointing_ms: 120 }, new Int16Array(1600));
    await stream({}, new Int16Array(1600));
    assert.equal(engine.opened[0]?.endpointingMs, 120);
    assert.equal(engine.opened[1]?.endpointingMs, undefined);
    assert.equal("endpointingMs" in (engine.opened[1] ?? {}), false);
  });

  it("finals at pauses have speech_final: true, each followed at once by its utterance_end", async () => {
    const client = await stream(
      {},
      bursts([
        { toneMs: 600, silenceMs: 500 },
        { toneMs: 400, silenceMs: 600 },
      ]),
    );
    assert.deepEqual(finalsOf(client), [
      { id: 0, span: [0, 600], speechFinal: true },
      { id: 1, span: [1100, 1500], speechFinal: true },
    ]);
    assert.deepEqual(endsOf(client), [
      { id: 0, lastWordEndMs: 600 },
      { id: 1, lastWordEndMs: 1500 },
    ]);
    const messages = shown(client);
    for (const final of client.finals()) {
      const next = messages[messages.indexOf(final) + 1];
      assert.equal(next?.type, "utterance_end", `utterance_end right after final ${final.segment_id}`);
      assert.equal(next?.segment_id, final.segment_id);
    }
    const partials = messages.filter((m) => m.type === "transcript" && m.is_final === false);
    assert.ok(partials.length > 0);
    assert.ok(
      partials.every((p) => !("speech_final" in p)),
      "partials carry no speech_final",
    );
  });

  it("a final forced by close_stream or finalize has speech_final: false and no utterance_end", async () => {
    const closed = await stream(
      {},
      bursts([
        { toneMs: 600, silenceMs: 500 },
        { toneMs: 400, silenceMs: 0 },
      ]),
    );
    assert.deepEqual(finalsOf(closed), [
      { id: 0, span: [0, 600], speechFinal: true },
      { id: 1, span: [1100, 1500], speechFinal: false },
    ]);
    assert.deepEqual(endsOf(closed), [{ id: 0, lastWordEndMs: 600 }]);

    const finalized = await stream({}, bursts([{ toneMs: 400, silenceMs: 0 }]), "none");
    finalized.sendJson({ type: "finalize" });
    await finalized.waitFor((m) => m.type === "transcript" && m.is_final === true);
    finalized.sendBinary(toBytes(new Int16Array(16 * 500))); // a pause after a forced final ends nothing
    finalized.sendJson({ type: "close_stream" });
    await finalized.waitFor((m) => m.type === "stream_closed");
    assert.deepEqual(finalsOf(finalized), [{ id: 0, span: [0, 400], speechFinal: false }]);
    assert.deepEqual(endsOf(finalized), []);
  });

  it("endpointing_ms sets the pause that ends an utterance", async () => {
    // Two bursts 200 ms apart, then 600 ms of silence.
    const pcm = bursts([
      { toneMs: 600, silenceMs: 200 },
      { toneMs: 400, silenceMs: 600 },
    ]);
    const byDefault = await stream({}, pcm);
    assert.deepEqual(finalsOf(byDefault), [{ id: 0, span: [0, 1200], speechFinal: true }]);
    const short = await stream({ endpointing_ms: 100 }, pcm);
    assert.deepEqual(finalsOf(short), [
      { id: 0, span: [0, 600], speechFinal: true },
      { id: 1, span: [800, 1200], speechFinal: true },
    ]);
    assert.deepEqual(endsOf(short), [
      { id: 0, lastWordEndMs: 600 },
      { id: 1, lastWordEndMs: 1200 },
    ]);
    // 600 ms of silence is no pause at 1000 ms: the utterance ends only with the stream.
    const long = await stream({ endpointing_ms: 1000 }, pcm);
    assert.deepEqual(finalsOf(long), [{ id: 0, span: [0, 1200], speechFinal: false }]);
    assert.deepEqual(endsOf(long), []);
  });

  it("an invalid endpointing_ms is invalid_message naming the field; the connection stays open", async () => {
    const client = await WireClient.open(url, KEY);
    const invalid = [5, 9, 5001, 12.5, -300, "300", null];
    for (const value of invalid) {
      client.sendJson({ type: "config", config: { model: "test", endpointing_ms: value } });
    }
    await client.waitFor(
      () => client.messages.filter((m) => m.type === "error").length === invalid.length,
      5000,
      "an error for each invalid value",
    );
    for (const error of client.messages) {
      assert.equal(error.type, "error");
      assert.equal(error.code, "invalid_message");
      assert.match(error.message as string, /endpointing_ms/);
    }
    assert.match(client.messages[0]?.message as string, /at least 10 ms/);
    assert.match(client.messages[2]?.message as string, /at most 5000 ms/);
    assert.match(client.messages[3]?.message as string, /whole number/);
    for (const edge of [10, 5000]) {
      const ok = edge === 10 ? client : await WireClient.open(url, KEY);
      ok.sendJson({ type: "config", config: { model: "test", endpointing_ms: edge } });
      await ok.waitFor((m) => m.type === "session_started");
      ok.ws.close();
    }
  });

  it("a resume re-sends missed finals with their speech_final, but not utterance_end", async () => {
    const client = await stream({}, bursts([{ toneMs: 400, silenceMs: 400 }]), "none");
    await client.waitFor((m) => m.type === "utterance_end");
    const token = (client.messages.find((m) => m.type === "session_started") as Received).resume_token;
    client.ws.terminate();
    await client.closed;
    const resumed = await WireClient.open(url, KEY);
    resumed.sendJson({ type: "resume", resume_token: token, last_segment_id: -1 });
    await resumed.waitFor((m) => m.type === "session_resumed");
    await resumed.waitFor((m) => m.type === "transcript" && m.is_final === true);
    resumed.sendJson({ type: "close_stream" });
    await resumed.waitFor((m) => m.type === "stream_closed");
    assert.deepEqual(finalsOf(resumed), [{ id: 0, span: [0, 400], speechFinal: true }]);
    assert.deepEqual(endsOf(resumed), []);
  });
});
