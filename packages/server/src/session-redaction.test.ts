/**
 * A session with `redact`: what follows a final held back (its utterance_end, the checkpoint after
 * it) waits behind it, in order, and close_stream sends held finals before stream_closed. The test
 * engine hears digit words (its vocabulary), named by where each burst of speech starts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type EngineEvent, type EngineStream, type StreamOptions, TestEngine } from "@earshot/engines";
import type { ErrorCode, ServerMessage, StreamConfig, TranscriptMessage } from "@earshot/protocol";
import { pino } from "pino";
import { type SessionConnection, StreamSession } from "./session.js";
import { TEST_SESSION_LIMITS } from "./session-limits.test.helper.js";

const DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

const LIMITS = TEST_SESSION_LIMITS;

/** The test engine, with a checkpoint after each endpoint, as the PocketSphinx engine gives them. */
class CheckpointingEngine extends TestEngine {
  override async openStream(options: StreamOptions): Promise<EngineStream> {
    const stream = await super.openStream(options);
    async function* events(): AsyncGenerator<EngineEvent> {
      let count = 0;
      for await (const event of stream) {
        yield event;
        if (event.type === "endpoint")
          yield { type: "checkpoint", atSample: event.atMs * 16, state: { count: count++ } };
      }
    }
    return {
      get backlogMs() {
        return stream.backlogMs;
      },
      push: (pcm) => stream.push(pcm),
      flush: (pause) => stream.flush(pause),
      end: () => stream.end(),
      close: () => stream.close(),
      [Symbol.asyncIterator]: () => events(),
    };
  }
}

class Recorder implements SessionConnection {
  readonly messages: ServerMessage[] = [];
  send(message: ServerMessage): void {
    this.messages.push(message);
  }
  redeliver(final: TranscriptMessage): void {
    this.messages.push(final);
  }
  error(code: ErrorCode): void {
    assert.fail(`error ${code}`);
  }
  close(): void {}
  pause(): void {}

  /** Finals, utterance_ends, checkpoints and stream_closed, in the order sent. */
  order(): string[] {
    return this.messages.flatMap((m) => {
      if (m.type === "transcript") return m.is_final ? [`final ${m.segment_id}: ${m.text}`] : [];
      if (m.type === "utterance_end") return [`utterance_end ${m.segment_id}`];
      if (m.type === "checkpoint") return [`checkpoint after ${m.last_segment_id}`];
      return m.type === "stream_closed" ? ["stream_closed"] : [];
    });
  }
}

/**
 * 200 ms bursts, each where the engine hears the digit wanted (gaps under 2 s, the endpointing the
 * tests ask for); `pauseMs` after each utterance.
 */
function reading(utterances: readonly string[], pauseMs: number): Uint8Array {
  const bursts: number[] = [];
  let atMs = 0;
  for (const utterance of utterances) {
    for (const digit of utterance) {
      while ((atMs / 200) % 10 !== Number(digit)) atMs += 200;
      bursts.push(atMs);
      atMs += 200;
    }
    atMs += pauseMs;
  }
  const pcm = new Int16Array(atMs * 16);
  for (const startMs of bursts) {
    for (let i = startMs * 16; i < (startMs + 200) * 16; i++) pcm[i] = i % 32 < 16 ? 8000 : -8000;
  }
  return new Uint8Array(pcm.buffer);
}

async function until(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  for (const started = Date.now(); !condition(); ) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function session(config: StreamConfig) {
  const engine = new CheckpointingEngine({ vocabulary: DIGITS });
  await engine.load();
  const connection = new Recorder();
  const metrics = {
    audioReceived: () => {},
    engineUsage: () => {},
    finalLatency: () => {},
    firstPartialLatency: () => {},
    forcedFinal: () => {},
  };
  const hooks = { onClosed: () => {}, metrics };
  const stream = new StreamSession(connection, engine, LIMITS, pino({ level: "silent" }), hooks);
  assert.equal(stream.configure({ model: "test", endpointing_ms: 2000, ...config }), true);
  await until(() => stream.state === "streaming", "the engine stream to open");
  return { stream, connection };
}

describe("StreamSession with redact", () => {
  it("utterance_end and checkpoint wait behind a held final, in order", async () => {
    const { stream, connection } = await session({ redact: ["pci"], checkpoints: true });
    stream.audio(reading(["42424242", "42424242"], 2000), false);
    // The second half ends in digits too: both are released once no speech follows (or at the end).
    stream.finish();
    await until(() => stream.state === "finished", "stream_closed");
    assert.deepEqual(connection.order(), [
      "final 0: [REDACTED_PCI]",
      "utterance_end 0",
      "checkpoint after 0",
      "final 1: [REDACTED_PCI]",
      "utterance_end 1",
      "checkpoint after 1",
      "stream_closed",
    ]);
  });

  it("without redact, the same audio is the digits, and nothing waits", async () => {
    const { stream, connection } = await session({ checkpoints: true });
    stream.audio(reading(["42424242", "42424242"], 2000), false);
    stream.finish();
    await until(() => stream.state === "finished", "stream_closed");
    const half = "four two four two four two four two";
    assert.deepEqual(connection.order(), [
      `final 0: ${half}`,
      "utterance_end 0",
      "checkpoint after 0",
      `final 1: ${half}`,
      "utterance_end 1",
      "checkpoint after 1",
      "stream_closed",
    ]);
  });

  it("a final that ends in a number waits for what follows; close_stream sends it before stream_closed", async () => {
    const { stream, connection } = await session({ redact: ["pci"] });
    stream.audio(reading(["4111"], 2000), false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(connection.order(), [], "held: the next words may go on with the number");
    assert.ok(
      connection.messages.every((m) => m.type !== "transcript" || !/one|four/.test(m.text)),
      "partials masked",
    );
    stream.finish();
    await until(() => stream.state === "finished", "stream_closed");
    assert.deepEqual(connection.order(), ["final 0: four one one one", "utterance_end 0", "stream_closed"]);
  });
});
