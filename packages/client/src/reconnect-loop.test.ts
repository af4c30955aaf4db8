import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import type { SessionStartedMessage } from "@earshot/protocol";
import type { Handshake } from "./connection.js";
import type { SessionStart } from "./options.js";
import type { BackoffOptions } from "./reconnect.js";
import { ReconnectLoop } from "./reconnect-loop.js";
import { StreamProgress } from "./stream-progress.js";

function session(startSample?: number): SessionStartedMessage {
  const config = { model: "test", language: "en", encoding: "pcm_s16le", sample_rate: 16_000, chunk_overlap_ms: 0 };
  return {
    type: "session_started",
    protocol_version: 1,
    session_id: "s",
    // A server without resume support names no start_sample.
    config: (startSample === undefined
      ? config
      : { ...config, start_sample: startSample, first_segment_id: 0 }) as never,
    resume_token: "rt_1",
    resume_grace_ms: 30_000,
  };
}

function loop(reconnect: boolean | BackoffOptions = { baseDelayMs: 100, random: () => 0.5 }) {
  const progress = new StreamProgress();
  const configs: SessionStart[] = [];
  const reconnecting = new ReconnectLoop({
    reconnect,
    progress,
    endSample: () => 48_000,
    config: (start) => {
      configs.push(start);
      return `config ${start.startSample}`;
    },
  });
  return { reconnecting, progress, configs };
}

describe("ReconnectLoop", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
  afterEach(() => mock.timers.reset());

  test("the first connection starts the stream at 0", () => {
    const { reconnecting, configs } = loop();
    const first = reconnecting.firstHandshake();
    assert.equal(first.kind, "start");
    assert.equal(first.config(), "config 0");
    assert.deepEqual(configs, [{ startSample: 0, firstSegmentId: 0 }]);
  });

  test("resumable only with reconnecting on and a resume token from the server", () => {
    const off = loop(false).reconnecting;
    off.started(session(0));
    assert.equal(off.resumable, false);
    assert.equal(off.next(), undefined);
    const on = loop().reconnecting;
    assert.equal(on.resumable, false);
    on.started(session(0));
    assert.equal(on.resumable, true);
    assert.deepEqual(on.next(), { attempt: 1, delayMs: 50 });
  });

  test("after the wait, resumes from the last final delivered by then; a lost session restarts at its end", () => {
    const { reconnecting, progress, configs } = loop();
    reconnecting.started(session(0));
    const next = reconnecting.next();
    assert.ok(next);
    const opened: Handshake[] = [];
    reconnecting.resumeAfter(next.delayMs, (handshake) => opened.push(handshake));
    progress.accept({
      type: "transcript",
      is_final: true,
      text: "one",
      segment_id: 3,
      start_ms: 1000,
      end_ms: 2000,
      language: "en",
    });
    mock.timers.tick(49);
    assert.equal(opened.length, 0);
    mock.timers.tick(1);
    const [handshake] = opened;
    assert.ok(handshake?.kind === "resume");
    assert.equal(handshake.token, "rt_1");
    assert.deepEqual(handshake.lastSegmentIds, [3]);
    // Where that final ended: where another node of a cluster may continue the session.
    assert.equal(handshake.lastFinalEndSample, 32_000);
    assert.equal(handshake.config(), "config 32000");
    assert.deepEqual(configs, [{ startSample: 32_000, firstSegmentId: 4 }]);
    // The new session's own start_sample wins; without one, it starts where it was asked to.
    assert.equal(reconnecting.started(session(16_000)), 16_000);
    assert.equal(reconnecting.started(session()), 32_000);
  });

  test("gives up after maxAttempts; an uptime of minUptimeMs resets the count", () => {
    let now = 0;
    const { reconnecting } = loop({ maxAttempts: 2, minUptimeMs: 1000, random: () => 0, now: () => now });
    reconnecting.started(session(0));
    assert.equal(reconnecting.next()?.attempt, 1);
    assert.equal(reconnecting.next()?.attempt, 2);
    assert.equal(reconnecting.next(), undefined);
    assert.equal(reconnecting.attempt, 2);
    reconnecting.connected();
    now = 1000;
    reconnecting.disconnected();
    assert.equal(reconnecting.attempt, 0);
    assert.equal(reconnecting.next()?.attempt, 1);
  });

  test("cancel() stops a pending attempt", () => {
    const { reconnecting } = loop();
    reconnecting.started(session(0));
    reconnecting.resumeAfter(100, () => assert.fail("opened after cancel()"));
    reconnecting.cancel();
    mock.timers.tick(1000);
  });
});
