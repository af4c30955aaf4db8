import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CloseCode, type ErrorCode, type ServerMessage } from "@earshot/protocol";
import { pino } from "pino";
import { type ClosingHost, type ClosingResume, SessionClosing } from "./session-closing.js";
import { checkTransition, type SessionState } from "./session-states.js";
import type { SessionConnection } from "./session-types.js";
import { StreamPosition } from "./stream-position.js";

const unguarded = (_what: string, work: () => void) => work();

/** A session as the closing side sees it, recording what it is asked to do. */
type FakeHost = ClosingHost & { current: SessionState; connected: SessionConnection | undefined };

function fakeSession(state: SessionState, drain: () => Promise<void> = async () => {}) {
  const calls: string[] = [];
  const sent: ServerMessage[] = [];
  const errors: ErrorCode[] = [];
  const connection: SessionConnection & { closedWith?: number } = {
    send: (message) => sent.push(message),
    redeliver: () => {},
    error: (code) => errors.push(code),
    close: (code) => {
      connection.closedWith ??= code;
    },
    pause: () => {},
  };
  const position = new StreamPosition();
  position.openAt(0);
  position.advance(16_000);
  const host: FakeHost = {
    log: pino({ level: "silent" }),
    position,
    current: state,
    connected: connection,
    state: () => host.current,
    transition: (to: SessionState) => {
      host.current = checkTransition(host.current, to);
    },
    connection: () => host.connected,
    drain,
    release: () => calls.push("release"),
    closed: () => calls.push("closed"),
  };
  const resume: ClosingResume = {
    awaitResume: () => calls.push("awaitResume"),
    endAfterGrace: () => calls.push("endAfterGrace"),
    stop: () => calls.push("stop"),
  };
  const closing = new SessionClosing(host, resume, { maxSessionMs: 60_000 }, unguarded);
  return { host, closing, calls, sent, errors, connection };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("SessionClosing", () => {
  it("close_stream drains, then sends stream_closed with the audio's length and closes 1000", async () => {
    const { host, closing, calls, sent, connection } = fakeSession("streaming");
    closing.finish();
    assert.equal(host.current, "draining");
    await settle();
    assert.deepEqual(sent, [{ type: "stream_closed", audio_ms: 1000 }]);
    assert.equal(connection.closedWith, CloseCode.normal);
    assert.equal(host.current, "finished");
    assert.deepEqual(calls, ["endAfterGrace", "release"], "kept for a resume until the grace ends");
    closing.dispose();
  });

  it("close_stream while the stream opens waits for it to open", async () => {
    let drained = false;
    const { host, closing, sent } = fakeSession("opening", async () => {
      drained = true;
    });
    closing.finish();
    await settle();
    assert.equal(host.current, "draining");
    assert.equal(drained, false);
    assert.deepEqual(sent, []);
    closing.dispose();
  });

  it("a drain that ends without a connection leaves the session drained, waiting for a resume", async () => {
    let finishDrain = () => {};
    const { host, closing, calls, sent } = fakeSession(
      "streaming",
      () => new Promise((resolve) => (finishDrain = resolve)),
    );
    closing.finish();
    host.connected = undefined;
    finishDrain();
    await settle();
    assert.equal(host.current, "drained");
    assert.deepEqual(calls, ["release", "awaitResume"]);
    assert.deepEqual(sent, []);
    closing.dispose();
  });

  it("an error ends the session once: the client is told, the connection closed, the session forgotten", () => {
    const { host, closing, calls, errors, connection } = fakeSession("streaming");
    // invalid_audio has no close code of its own: the session closes with 1008 itself.
    closing.fail("invalid_audio");
    closing.fail("internal_error");
    closing.dispose();
    assert.equal(host.current, "closed");
    assert.deepEqual(errors, ["invalid_audio"]);
    assert.equal(connection.closedWith, CloseCode.policyViolation);
    assert.deepEqual(calls, ["stop", "release", "closed"]);
  });

  it("a session whose engine stream cannot be given back is still forgotten", () => {
    const { host, closing, calls } = fakeSession("streaming");
    host.release = () => {
      throw new Error("close failed");
    };
    assert.throws(() => closing.dispose(), /close failed/);
    assert.deepEqual(calls, ["stop", "closed"]);
  });

  it("a server shutdown waits for the drain at most timeoutMs, then asks for a reconnect", async () => {
    const { host, closing, errors } = fakeSession("streaming", () => new Promise(() => {}));
    const keepAlive = setTimeout(() => {}, 1_000); // the shutdown's own timer does not hold the process
    const started = Date.now();
    await closing.shutdown(50);
    clearTimeout(keepAlive);
    assert.ok(Date.now() - started < 1_000);
    assert.deepEqual(errors, ["server_shutting_down"]);
    assert.equal(host.current, "closed");
  });

  it("the session time limit ends it with session_too_long", async () => {
    const { host, calls } = fakeSession("streaming");
    const closing = new SessionClosing(
      host,
      { awaitResume() {}, endAfterGrace() {}, stop() {} },
      { maxSessionMs: 20 },
      unguarded,
    );
    const errors: ErrorCode[] = [];
    host.connected = {
      send() {},
      redeliver() {},
      error: (code: ErrorCode) => errors.push(code),
      close() {},
      pause() {},
    };
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(errors, ["session_too_long"]);
    assert.equal(host.current, "closed");
    assert.ok(calls.includes("closed"));
    closing.dispose();
  });
});
