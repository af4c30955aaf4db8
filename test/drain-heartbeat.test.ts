/**
 * The server's acks double as the client's heartbeat ("at least every second when idle",
 * docs/protocol.md). They must keep coming while a session drains its engine after close_stream,
 * or a client whose heartbeat timeout is shorter than the drain drops a healthy connection and
 * reconnects in the middle of a normal close. The engine here is the TestEngine whose `end()`
 * takes 3 s, as a real engine's does with a deep backlog (PocketSphinx: up to
 * `maxEngineBacklogMs` of audio, 10 s by default, to decode).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Engine, type EngineStream, type StreamOptions, TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { mulberry32 } from "@earshot/test-support";
import { assertExactlyOnce, sendPaced, startRun } from "./helpers/sdk-run.js";
import { bursts } from "./helpers/signals.js";

const KEY = "drain-key";
const DRAIN_MS = 3000;

/** The TestEngine, but ending a stream (flushing the decoder) takes DRAIN_MS. */
class SlowDrainEngine extends TestEngine implements Engine {
  override async openStream(options: StreamOptions): Promise<EngineStream> {
    const stream = await super.openStream(options);
    return {
      get backlogMs() {
        return stream.backlogMs;
      },
      push: (pcm) => stream.push(pcm),
      flush: () => stream.flush(),
      end: async () => {
        await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
        await stream.end();
      },
      close: () => stream.close(),
      [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator](),
    };
  }
}

describe("heartbeat while the engine drains", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new SlowDrainEngine(), apiKeys: [KEY] });
    ({ url } = await server.listen({ host: "127.0.0.1", port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("close() during a 3 s drain, heartbeat timeout 1.5 s: acks keep the connection, no reconnect", {
    timeout: 30_000,
  }, async (t) => {
    const run = startRun({
      url,
      apiKey: KEY,
      reconnect: { baseDelayMs: 20, maxDelayMs: 200, random: mulberry32(7) },
      heartbeatTimeoutMs: 1500,
    });
    await run.client.connect();
    await sendPaced(run, bursts([{ toneMs: 1000, silenceMs: 500 }]), { speed: 10 });
    const closedAt = Date.now();
    const result = await run.client.close();
    t.diagnostic(`close took ${Date.now() - closedAt} ms; states: ${run.states.map((s) => s.to).join(" → ")}`);
    assert.equal(result.code, 1000);
    assertExactlyOnce(run);
    assert.deepEqual(
      run.finals.map((f) => f.text),
      ["alpha bravo charlie delta echo"],
    );
    assert.deepEqual(
      run.states.filter((s) => s.to === "reconnecting").map((s) => s.error?.message),
      [],
      "no reconnect during a normal close",
    );
  });
});
