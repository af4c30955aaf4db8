import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { type EngineStream, EngineUnavailableError, type StreamOptions, TestEngine } from "@earshot/engines";
import { ERRORS, type ErrorCode, type ServerMessage, type TranscriptMessage } from "@earshot/protocol";
import { pino } from "pino";
import { type ReleaseReason, type SessionConnection, type SessionLimits, StreamSession } from "./session.js";
import { TEST_SESSION_LIMITS } from "./session-limits.test.helper.js";
import { checkTransition, SESSION_TRANSITIONS, type SessionState, SessionStateError } from "./session-states.js";

/** A connection that records what the session does with it. */
class FakeConnection implements SessionConnection {
  readonly messages: ServerMessage[] = [];
  readonly redelivered: TranscriptMessage[] = [];
  readonly errors: ErrorCode[] = [];
  closedWith: { code: number; reason: string } | undefined;
  readonly pauses: boolean[] = [];

  send(message: ServerMessage): void {
    if (!this.closedWith) this.messages.push(message);
  }

  redeliver(final: TranscriptMessage): void {
    this.redelivered.push(final);
  }

  error(code: ErrorCode): void {
    this.errors.push(code);
    const spec = ERRORS[code];
    if ("close" in spec) this.close(spec.close, code);
  }

  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
  }

  pause(paused: boolean): void {
    this.pauses.push(paused);
  }

  of<T extends ServerMessage["type"]>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.messages.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  finals(): TranscriptMessage[] {
    return this.of("transcript").filter((m) => m.is_final);
  }
}

const LIMITS = TEST_SESSION_LIMITS;

/** PCM16 bytes: `toneMs` of a loud square wave (speech to the test engine), then `silenceMs` of silence. */
function speech(toneMs: number, silenceMs: number): Uint8Array {
  const pcm = new Int16Array((toneMs + silenceMs) * 16);
  for (let i = 0; i < toneMs * 16; i++) pcm[i] = i % 32 < 16 ? 8000 : -8000;
  return new Uint8Array(pcm.buffer);
}

async function until(condition: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  for (const started = Date.now(); !condition(); ) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Setup {
  session: StreamSession;
  connection: FakeConnection;
  engine: TestEngine;
  closed: StreamSession[];
  waiting: StreamSession[];
  released: ReleaseReason[];
}

async function setup(options: { engine?: TestEngine; limits?: Partial<SessionLimits>; load?: boolean } = {}) {
  const engine = options.engine ?? new TestEngine();
  if (options.load !== false) await engine.load();
  const connection = new FakeConnection();
  const calls: Omit<Setup, "session" | "connection" | "engine"> = { closed: [], waiting: [], released: [] };
  const counters = { audioSamples: 0, forcedFinals: 0 };
  const hooks = {
    onClosed: (s: StreamSession) => calls.closed.push(s),
    onWaiting: (s: StreamSession) => calls.waiting.push(s),
    onReleased: (_s: StreamSession, reason: ReleaseReason) => calls.released.push(reason),
    metrics: {
      audioReceived: (samples: number) => {
        counters.audioSamples += samples;
      },
      engineUsage: () => {},
      finalLatency: () => {},
      firstPartialLatency: () => {},
      forcedFinal: () => {
        counters.forcedFinals += 1;
      },
    },
  };
  const log = pino({ level: "silent" });
  const session = new StreamSession(connection, engine, { ...LIMITS, ...options.limits }, log, hooks);
  return { session, connection, engine, counters, ...calls };
}

/** A configured session whose engine stream is open. */
async function streaming(options: Parameters<typeof setup>[0] = {}) {
  const s = await setup(options);
  assert.equal(s.session.configure({ language: "en", model: "test" }), true);
  assert.equal(s.session.state, "opening");
  await until(() => s.session.state === "streaming", "the engine stream to open");
  return s;
}

describe("StreamSession: the way through", () => {
  it("configure → opening → streaming → draining → finished → closed after the grace period", async () => {
    const { session, connection, closed } = await streaming();
    assert.equal(connection.of("session_started").length, 1);
    assert.equal(session.configured, true);
    assert.equal(session.holdsDecoder, true);

    assert.equal(session.audio(speech(400, 600), false), undefined);
    await until(() => connection.finals().length === 1, "a final");
    assert.equal(connection.of("utterance_end").length, 1);
    assert.equal(connection.of("ack").at(-1)?.received_samples, 16_000);

    session.finish();
    assert.equal(session.state, "draining");
    assert.equal(session.configured, false, "no audio after close_stream");
    await until(() => session.state === "finished", "stream_closed");
    assert.deepEqual(connection.of("stream_closed"), [{ type: "stream_closed", audio_ms: 1000 }]);
    assert.equal(connection.closedWith?.code, 1000);
    assert.equal(session.finished, true);
    assert.equal(session.holdsDecoder, false);
    assert.equal(session.waiting, false);
    session.detach(connection, true);
    assert.equal(session.state, "finished", "kept for a client that missed stream_closed");

    await until(() => session.closed, "the grace period to end");
    assert.deepEqual(closed, [session]);
  });

  it("an utterance longer than maxUtteranceMs is cut by a forced final", async () => {
    const { session, connection, counters } = await streaming({ limits: { maxUtteranceMs: 600 } });
    const audio = speech(1000, 600);
    // In 100 ms pieces, each relayed before the next, as audio arrives live.
    for (let at = 0; at < audio.length; at += 3200) {
      session.audio(audio.subarray(at, at + 3200), false);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => connection.finals().length === 2, "two finals");
    assert.deepEqual(
      connection.finals().map((f) => [f.start_ms, f.end_ms, f.speech_final]),
      [
        [0, 600, false],
        [600, 1000, true],
      ],
    );
    assert.equal(counters.forcedFinals, 1);
    assert.equal(counters.audioSamples, 1600 * 16);
  });

  it("close_stream while the stream opens drains once it is open", async () => {
    const { session, connection } = await setup();
    session.configure({ language: "en", model: "test" });
    session.audio(speech(400, 100), false);
    session.finish();
    assert.equal(session.state, "draining");
    await until(() => session.finished, "stream_closed");
    assert.deepEqual(
      connection.messages.map((m) => m.type).filter((t) => t !== "ack" && t !== "transcript"),
      ["session_started", "stream_closed"],
    );
    assert.equal(connection.finals().length, 1, "the held audio was decoded");
  });
});

describe("StreamSession: finalize", () => {
  it("a finalize while the engine stream opens is done once it is open: the final comes", async () => {
    const engine = new GatedEngine();
    const { session, connection } = await setup({ engine });
    session.configure({ language: "en", model: "test" });
    session.audio(speech(400, 0), false);
    session.finalize();
    assert.equal(session.state, "opening");
    engine.pending[0]?.();
    await until(() => connection.finals().length === 1, "the forced final");
    assert.equal(connection.finals()[0]?.speech_final, false);
  });
});

describe("StreamSession: waiting for a resume", () => {
  it("a drop moves it to waiting; a resume back to streaming, with the finals after last_segment_id", async () => {
    const { session, connection, waiting } = await streaming();
    session.audio(speech(400, 600), false);
    session.audio(speech(400, 600), false);
    await until(() => connection.finals().length === 2, "two finals");

    session.detach(connection, false);
    assert.equal(session.state, "waiting");
    assert.equal(session.waiting, true);
    assert.equal(session.holdsDecoder, true);
    assert.ok(session.waitingSince > 0);
    assert.deepEqual(waiting, [session]);

    const next = new FakeConnection();
    session.attach(next, 0);
    assert.equal(session.state, "streaming");
    assert.equal(session.waiting, false);
    assert.deepEqual(next.of("session_resumed"), [
      { type: "session_resumed", session_id: session.id, received_samples: 32_000 },
    ]);
    assert.deepEqual(
      next.redelivered.map((f) => f.segment_id),
      [1],
    );
    session.audio(speech(400, 600), false);
    await until(() => next.finals().length === 1, "a final on the new connection");
    assert.equal(next.finals()[0]?.segment_id, 2);
  });

  it("a resume elsewhere closes the connection it replaces", async () => {
    const { session, connection } = await streaming();
    const next = new FakeConnection();
    session.attach(next, -1);
    assert.equal(connection.closedWith?.code, 1001);
    session.detach(connection, false);
    assert.equal(session.state, "streaming", "the old connection's close is not a drop");
  });

  it("the hold time releases the decoder; a resume reopens at the end of the last final", async () => {
    const { session, connection, released, engine } = await streaming();
    session.audio(speech(400, 600), false);
    session.audio(speech(200, 0), false); // an utterance in progress, lost with the decoder
    await until(() => connection.finals().length === 1, "a final");
    session.detach(connection, false);
    await until(() => session.released, "the hold time to pass");
    assert.deepEqual(released, ["hold_expired"]);
    assert.equal(session.holdsDecoder, false);
    assert.equal(session.waiting, true);
    assert.equal(engine.loadSnapshot().streams, 0, "the engine stream was given back");

    const next = new FakeConnection();
    session.attach(next, 0);
    assert.equal(session.state, "opening");
    assert.equal(next.of("session_resumed")[0]?.received_samples, 400 * 16, "replay from the end of the last final");
    await until(() => session.state === "streaming", "the fresh engine stream");
    assert.equal(next.of("session_started").length, 0, "a resume is not a new session");
  });

  it("releaseDecoder only releases a waiting session", async () => {
    const { session, connection, released } = await streaming();
    assert.equal(session.releaseDecoder("node_budget"), false);
    session.detach(connection, false);
    assert.equal(session.releaseDecoder("key_budget"), true);
    assert.equal(session.releaseDecoder("key_budget"), false, "already released");
    assert.deepEqual(released, ["key_budget"]);
  });

  it("expire ends a waiting session, and nothing else", async () => {
    const { session, connection, closed } = await streaming();
    session.expire();
    assert.equal(session.state, "streaming");
    session.detach(connection, false);
    session.expire();
    assert.equal(session.closed, true);
    assert.deepEqual(closed, [session]);
  });

  it("without a resume, the grace period ends it", async () => {
    const { session, connection, closed } = await streaming({ limits: { holdDecoderMs: 50, resumeGraceMs: 150 } });
    session.detach(connection, false);
    await until(() => session.released, "the release");
    await until(() => session.closed, "the grace period to end");
    assert.deepEqual(closed, [session]);
  });

  it("a drop while draining ends in drained; a resume gets the last finals and stream_closed", async () => {
    const { session, connection, waiting } = await streaming();
    session.audio(speech(400, 0), false);
    session.finish();
    session.detach(connection, true);
    assert.equal(session.state, "draining");
    assert.equal(session.waiting, true);
    await until(() => session.state === "drained", "the drain");
    assert.deepEqual(waiting, [session]);
    assert.equal(session.holdsDecoder, false);
    assert.equal(session.finished, false, "stream_closed is still owed");

    const next = new FakeConnection();
    session.attach(next, -1);
    assert.equal(session.state, "finished");
    assert.equal(next.redelivered.length, 1, "the final made after the drop");
    assert.equal(next.of("stream_closed").length, 1);
    assert.equal(next.closedWith?.code, 1000);
  });

  it("a late stream from before a release never stands in for the reopened one", async () => {
    const engine = new GatedEngine();
    const { session, connection } = await setup({ engine });
    session.configure({ language: "en", model: "test" });
    session.detach(connection, false);
    assert.equal(session.state, "waiting");
    assert.equal(session.releaseDecoder("node_budget"), true);
    session.attach(new FakeConnection(), -1);
    assert.equal(session.state, "opening");
    assert.equal(engine.pending.length, 2);
    engine.pending[0]?.();
    await until(() => engine.opened === 1, "the first stream");
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(session.state, "opening", "the first stream was not taken");
    assert.equal(engine.loadSnapshot().streams, 0, "and was given back");
    engine.pending[1]?.();
    await until(() => session.state === "streaming", "the second stream");
    assert.equal(engine.loadSnapshot().streams, 1);
  });
});

/** Opens streams only when the test says so. */
class GatedEngine extends TestEngine {
  readonly pending: Array<() => void> = [];
  opened = 0;

  override async openStream(options: StreamOptions): Promise<EngineStream> {
    await new Promise<void>((resolve) => this.pending.push(resolve));
    const stream = await super.openStream(options);
    this.opened += 1;
    return stream;
  }
}

/** An engine whose openStream throws rather than rejecting. */
class ThrowingEngine extends TestEngine {
  override openStream(): Promise<EngineStream> {
    throw new EngineUnavailableError("thrown, not rejected");
  }
}

describe("StreamSession: errors", () => {
  it("an engine that is not loaded: engine_unavailable, closed", async () => {
    const { session, connection, closed } = await setup({ load: false });
    assert.equal(session.configure({ language: "en" }), false);
    assert.deepEqual(connection.errors, ["engine_unavailable"]);
    assert.equal(session.state, "closed");
    assert.deepEqual(closed, [session]);
  });

  it("a config the engine cannot serve: its error, closed", async () => {
    const { session, connection } = await setup();
    assert.equal(session.configure({ language: "en", model: "no-such-model" }), false);
    assert.deepEqual(connection.errors, ["unsupported_model"]);
    assert.equal(session.closed, true);
  });

  it("a stream that fails to open, or fails later: engine_unavailable", async () => {
    const broken = await setup();
    assert.equal(broken.session.configure({ language: "en", model: "test-broken" }), true);
    await until(() => broken.session.closed, "the failed open");
    assert.deepEqual(broken.connection.errors, ["engine_unavailable"]);

    const throwing = await setup({ engine: new ThrowingEngine() });
    assert.equal(throwing.session.configure({ language: "en", model: "test" }), true);
    await until(() => throwing.session.closed, "the open that threw");
    assert.deepEqual(throwing.connection.errors, ["engine_unavailable"]);

    const crashing = await setup();
    crashing.session.configure({ language: "en", model: "test-crash" });
    crashing.session.audio(speech(0, 1200), false);
    await until(() => crashing.session.closed, "the crash");
    assert.deepEqual(crashing.connection.errors, ["engine_unavailable"]);
  });

  it("more audio than maxPendingMs while the stream opens: engine_unavailable", async () => {
    const { session, connection } = await setup({ engine: new GatedEngine(), limits: { maxPendingMs: 100 } });
    session.configure({ language: "en", model: "test" });
    assert.equal(session.audio(speech(0, 100), false), undefined);
    assert.equal(session.state, "opening");
    session.audio(speech(0, 20), false);
    assert.deepEqual(connection.errors, ["engine_unavailable"]);
    assert.equal(session.closed, true);
  });

  it("invalid audio is refused without moving the position", async () => {
    const { session, connection } = await streaming();
    assert.match(session.audio(new Uint8Array(3), false) ?? "", /./);
    session.audio(speech(0, 250), false);
    assert.equal(connection.of("ack").at(-1)?.received_samples, 4000);
  });

  it("a drop the client asked for, or before configuring, ends the session", async () => {
    const asked = await streaming();
    asked.session.detach(asked.connection, true);
    assert.equal(asked.session.closed, true);
    const early = await setup();
    early.session.detach(early.connection, false);
    assert.equal(early.session.closed, true);
  });

  it("resuming a session that is over is a bug: SessionStateError", async () => {
    const { session, connection } = await streaming();
    session.detach(connection, true);
    assert.throws(() => session.attach(new FakeConnection(), -1), SessionStateError);
  });
});

describe("StreamSession: shutdown", () => {
  it("drains a streaming session, asks for a reconnect, and clears its race timer", async (t: TestContext) => {
    const { session, connection, closed } = await streaming();
    session.audio(speech(400, 0), false);
    const setTimer = t.mock.method(globalThis, "setTimeout");
    const clearTimer = t.mock.method(globalThis, "clearTimeout");
    await session.shutdown(4321);
    const race = setTimer.mock.calls.find((call) => call.arguments[1] === 4321)?.result as NodeJS.Timeout | undefined;
    assert.ok(race, "the shutdown set its race timer");
    assert.ok(
      clearTimer.mock.calls.some((call) => call.arguments[0] === race),
      "the race timer was cleared once the drain won",
    );
    assert.equal(race.hasRef(), false, "the race timer never holds the process open");
    assert.equal(connection.finals().length, 1, "the last final went out");
    assert.deepEqual(connection.errors, ["server_shutting_down"]);
    assert.deepEqual(closed, [session]);
  });
});

describe("session states", () => {
  it("every state but closed can end in closed; closed goes nowhere", () => {
    for (const [from, to] of Object.entries(SESSION_TRANSITIONS) as [SessionState, readonly SessionState[]][]) {
      if (from === "closed") assert.deepEqual(to, []);
      else assert.ok(to.includes("closed"), `${from} → closed`);
    }
  });

  it("a move the table does not allow throws", () => {
    assert.equal(checkTransition("waiting", "released"), "released");
    assert.throws(() => checkTransition("released", "streaming"), SessionStateError);
    assert.throws(() => checkTransition("finished", "streaming"), /Illegal session transition finished → streaming/);
    assert.throws(() => checkTransition("closed", "closed"), SessionStateError);
  });
});
