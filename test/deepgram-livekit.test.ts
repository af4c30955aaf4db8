/**
 * LiveKit Agents' Deepgram STT (`@livekit/agents-plugin-deepgram`, pinned), pointed at earshot by its
 * `baseUrl` option, driving a real stream against a real server with the PocketSphinx engine: an
 * eval file's audio goes in as LiveKit `AudioFrame`s and its words come out as LiveKit
 * `SpeechEvent`s (START_OF_SPEECH, FINAL_TRANSCRIPT, END_OF_SPEECH), the same words earshot's own
 * protocol gives for the same file.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { createServer, type EarshotServer } from "@earshot/server";
import { loadEvalSet, loadPcm, normalizeWords } from "@earshot/test-support";
import { initializeLogger, stt } from "@livekit/agents";
import * as deepgram from "@livekit/agents-plugin-deepgram";
import { AudioFrame } from "@livekit/rtc-node";
import { linear16 } from "./helpers/deepgram-live.js";
import { viaEarshotProtocol } from "./helpers/earshot-wire.js";

const KEY = "livekit-key";
const FRAME_SAMPLES = 160; // 10 ms at 16 kHz, as LiveKit rooms deliver audio

describe("LiveKit Agents' Deepgram STT against earshot", { timeout: 120_000 }, () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    initializeLogger({ pretty: false, level: "warn" });
    server = createServer({ engine: new PocketSphinxEngine({ workers: 1 }), apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });
  after(() => server.close());

  it("an eval file's words come out as SpeechEvents", { timeout: 60_000 }, async () => {
    const utterance = loadEvalSet().find((u) => u.id === "ls-1089-134691-0000");
    assert.ok(utterance);
    const pcm = loadPcm(utterance.path);
    const recognizer = new deepgram.STT({
      apiKey: KEY,
      baseUrl: url.replace(/^http/, "ws"),
      // LiveKit's defaults otherwise: nova-3, en-US, interim results, smart_format, endpointing 25 ms.
    });
    const stream = recognizer.stream();
    const events: stt.SpeechEvent[] = [];
    const reading = (async () => {
      for await (const event of stream) {
        events.push(event);
        if (event.type === stt.SpeechEventType.END_OF_SPEECH) break;
      }
    })();
    for (let at = 0; at < pcm.length; at += FRAME_SAMPLES) {
      const samples = pcm.slice(at, at + FRAME_SAMPLES);
      stream.pushFrame(new AudioFrame(samples, 16_000, 1, samples.length));
      if (at % (FRAME_SAMPLES * 10) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // A second of silence after the words, as a room would send, then the end.
    for (let i = 0; i < 100; i++)
      stream.pushFrame(new AudioFrame(new Int16Array(FRAME_SAMPLES), 16_000, 1, FRAME_SAMPLES));
    stream.flush();
    await reading;
    stream.close();
    await recognizer.close();

    const types = events
      .filter((event) => event.type !== stt.SpeechEventType.RECOGNITION_USAGE)
      .map((event) => stt.SpeechEventType[event.type]);
    assert.equal(types[0], "START_OF_SPEECH", types.join(","));
    assert.ok(types.includes("INTERIM_TRANSCRIPT"), types.join(","));
    assert.equal(types.at(-2), "FINAL_TRANSCRIPT", types.join(","));
    assert.equal(types.at(-1), "END_OF_SPEECH", types.join(","));
    const finals = events.filter((event) => event.type === stt.SpeechEventType.FINAL_TRANSCRIPT);
    const heard = finals.map((event) => event.alternatives?.[0]?.text ?? "").join(" ");
    const own = await viaEarshotProtocol(url, KEY, linear16(pcm), "pcm_s16le", 3200);
    assert.deepEqual(normalizeWords(heard), normalizeWords(own));
    const words = finals.flatMap((event) => event.alternatives?.[0]?.words ?? []);
    assert.deepEqual(normalizeWords(words.map((word) => word.text).join(" ")), normalizeWords(own));
    for (const word of words) assert.ok((word.endTime ?? 0) > (word.startTime ?? 0), "words with their times");
  });
});
