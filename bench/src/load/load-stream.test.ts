/**
 * The load bench's added latency rests on `dueFrame`: the test engine must emit each final on the
 * 100 ms frame `dueFrame(end_ms, 300)` names. Checked here against the engine itself on the eval set.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TestEngine } from "@earshot/engines";
import { dueFrame } from "./load-stream.js";
import { loadClips, SILENT_FRAME } from "./playlist.js";

const ENDPOINTING_MS = 300;

test("the test engine emits every final on the frame dueFrame names", async () => {
  const engine = new TestEngine({ endpointingMs: ENDPOINTING_MS });
  await engine.load();
  let finals = 0;
  for (const clip of loadClips()) {
    const stream = await engine.openStream({ language: "en", model: "test", wordTimestamps: true });
    const events: { type: string; endMs?: number }[] = [];
    const reading = (async () => {
      for await (const event of stream) events.push(event);
    })();
    const frames = [...clip.frames, ...Array.from({ length: 10 }, () => SILENT_FRAME)];
    for (const [index, frame] of frames.entries()) {
      stream.push(new Int16Array(frame.buffer, frame.byteOffset, frame.length / 2));
      await new Promise((resolve) => setImmediate(resolve));
      for (const event of events.splice(0)) {
        if (event.type !== "final" || event.endMs === undefined) continue;
        finals += 1;
        assert.equal(dueFrame(event.endMs, ENDPOINTING_MS), index, `${clip.id}: final ending at ${event.endMs} ms`);
      }
    }
    await stream.end();
    await reading;
  }
  assert.ok(finals >= 14, `expected a final per clip at least, got ${finals}`);
});
