/**
 * A decoding process that has fallen behind finishes ended utterances first: a stream whose flush is
 * queued decodes up to it before the other streams' turns (host.ts, `FINISHING_SAMPLES`), so its
 * final does not wait for everyone's backlog. With plain turns of 100 ms each, the three busy
 * streams below would each decode as much audio as the finishing one (4 s) before its final.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { EngineEvent, EngineStream } from "@earshot/engines";
import { loadClip } from "./clips.test.helper.js";
import { PocketSphinxEngine } from "./engine.js";

const OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true } as const;
const PUSH = 1_600;

function pushAll(stream: EngineStream, pcm: Int16Array): void {
  for (let at = 0; at < pcm.length; at += PUSH) stream.push(pcm.subarray(at, at + PUSH));
}

test("behind on three streams of 8 s each, a stream that ended its utterance gets its final before their backlog is decoded", async () => {
  const engine = new PocketSphinxEngine({ workers: 1, decoders: 4 });
  try {
    await engine.load();
    const busy = await Promise.all([1, 2, 3].map(() => engine.openStream(OPTIONS)));
    const finishing = await engine.openStream(OPTIONS);
    // 8 s of speech per busy stream (the first 8 s of a 10.4 s clip).
    const speech = loadClip("ls-1089-134686-0000");
    const eightSeconds = speech.subarray(0, 128_000);
    for (const stream of busy) pushAll(stream, eightSeconds);
    const utterance = loadClip("ps-goforward");
    pushAll(finishing, utterance);
    finishing.flush({ atMs: Math.round(utterance.length / 16) });

    let backlogAtFinal: number[] | undefined;
    const events: EngineEvent[] = [];
    for await (const event of finishing) {
      events.push(event);
      if (event.type === "final" && backlogAtFinal === undefined) backlogAtFinal = busy.map((s) => s.backlogMs);
      if (event.type === "endpoint") break;
    }
    const final = events.find((event) => event.type === "final");
    assert.ok(final?.type === "final" && final.text.length > 0, JSON.stringify(events));
    assert.ok(backlogAtFinal, "a final came");
    // Turns of 100 ms each would have decoded about the utterance's length (2.8 s) of each busy stream
    // by now, leaving about 5.2 s; finishing first leaves nearly all 8 s.
    const utteranceMs = utterance.length / 16;
    for (const ms of backlogAtFinal) {
      assert.ok(ms > 8_000 - utteranceMs / 2, `busy streams' backlog at the final: ${backlogAtFinal.join(", ")} ms`);
    }
    for (const stream of [...busy, finishing]) stream.close();
  } finally {
    await engine.close();
  }
});
