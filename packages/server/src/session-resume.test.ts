import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CloseCode, type ServerMessage, type TranscriptMessage } from "@earshot/protocol";
import { pino } from "pino";
import { type ResumeHost, SessionResume } from "./session-resume.js";
import { checkTransition, type ReleaseReason, type SessionState, SessionStateError } from "./session-states.js";
import type { SessionConnection } from "./session-types.js";
import { StreamPosition } from "./stream-position.js";

const unguarded = (_what: string, work: () => void) => work();
const TIMES = { resumeGraceMs: 80, holdDecoderMs: 20 };

class FakeConnection implements SessionConnection {
  readonly sent: ServerMessage[] = [];
  readonly redelivered: TranscriptMessage[] = [];
  closedWith: number | undefined;
  send(message: ServerMessage): void {
    this.sent.push(message);
  }
  redeliver(final: TranscriptMessage): void {
    this.redelivered.push(final);
  }
  error(): void {}
  close(code: number): void {
    this.closedWith ??= code;
  }
  pause(): void {}
}

const FINAL = { type: "transcript", is_final: true, segment_id: 3 } as TranscriptMessage;

type FakeHost = ResumeHost & {
  current: SessionState;
  connected: SessionConnection | undefined;
  open: boolean;
  /** The engine stream can give its decoder back and go on (`EngineStream.suspend`). */
  suspendable: boolean;
};

/** A session as the resume side sees it (2 s received, the last final ending at 1.5 s), recording what it is asked to do. */
function fakeSession(state: SessionState, connection: SessionConnection | undefined = new FakeConnection()) {
  const calls: string[] = [];
  const position = new StreamPosition();
  position.openAt(0);
  position.advance(32_000);
  position.finalEndsAt(1_500);
  const host: FakeHost = {
    id: "s1",
    log: pino({ level: "silent" }),
    position,
    current: state,
    connected: connection,
    open: true,
    suspendable: false,
    state: () => host.current,
    transition: (to) => {
      host.current = checkTransition(host.current, to);
    },
    connection: () => host.connected,
    connect: (next) => {
      host.connected = next;
    },
    streamOpen: () => host.open,
    finalsAfter: (lastSegmentId) => (lastSegmentId < 3 ? [FINAL] : []),
    checkpoint: () => undefined,
    continueStream: () => calls.push("continueStream"),
    reopen: (from) => calls.push(`reopen ${from}`),
    releaseEngineStream: () => calls.push("releaseEngineStream"),
    suspendEngineStream: () => {
      calls.push(`suspendEngineStream ${host.suspendable}`);
      return host.suspendable;
    },
    closeStream: () => calls.push("closeStream"),
    resumeFlow: () => calls.push("resumeFlow"),
    dispose: () => {
      host.current = checkTransition(host.current, "closed");
      calls.push("dispose");
    },
    waiting: () => calls.push("waiting"),
    released: (reason: ReleaseReason) => calls.push(`released ${reason}`),
  };
  const resume = new SessionResume(host, TIMES, unguarded);
  return { host, resume, calls };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("SessionResume", () => {
  it("a drop waits for a resume, and gives the decoder back once the hold time is over", async () => {
    const { host, resume, calls } = fakeSession("streaming");
    resume.detach(host.connected as SessionConnection, false);
    assert.equal(host.current, "waiting");
    assert.equal(host.connected, undefined);
    assert.deepEqual(calls, ["waiting"]);
    await sleep(TIMES.holdDecoderMs + 30);
    assert.equal(host.current, "released");
    assert.deepEqual(calls, ["waiting", "suspendEngineStream false", "releaseEngineStream", "released hold_expired"]);
    resume.stop();
  });

  it("an engine stream that can suspend gives its decoder back and stays: a resume continues it, nothing reopened", async () => {
    const { host, resume, calls } = fakeSession("streaming");
    host.suspendable = true;
    resume.detach(host.connected as SessionConnection, false);
    await sleep(TIMES.holdDecoderMs + 30);
    assert.equal(host.current, "waiting", "still waiting, with its engine stream");
    assert.deepEqual(calls, ["waiting", "suspendEngineStream true", "released hold_expired"]);
    const next = new FakeConnection();
    resume.attach(next, 1);
    assert.equal(host.current, "streaming");
    assert.deepEqual(next.sent, [{ type: "session_resumed", session_id: "s1", received_samples: 32_000 }]);
    assert.deepEqual(calls.slice(3), ["continueStream", "resumeFlow"]);
    resume.stop();
  });

  it("without a resume within the grace period, the session ends", async () => {
    const { host, resume, calls } = fakeSession("streaming");
    host.open = false; // still opening: no decoder to give back yet
    resume.detach(host.connected as SessionConnection, false);
    await sleep(TIMES.resumeGraceMs + 40);
    assert.equal(host.current, "closed");
    assert.deepEqual(calls, ["waiting", "dispose"]);
  });

  it("a close the client asked for, or a drop before the config, ends the session; another connection's drop is ignored", () => {
    const streaming = fakeSession("streaming");
    streaming.resume.detach(new FakeConnection(), false);
    assert.equal(streaming.host.current, "streaming", "not its connection");
    streaming.resume.detach(streaming.host.connected as SessionConnection, true);
    assert.deepEqual(streaming.calls, ["dispose"]);
    const idle = fakeSession("idle");
    idle.resume.detach(idle.host.connected as SessionConnection, false);
    assert.equal(idle.host.current, "closed");
  });

  it("a resume of a waiting session continues the stream and sends the finals the client missed", () => {
    const previous = new FakeConnection();
    const { host, resume, calls } = fakeSession("waiting", previous);
    const next = new FakeConnection();
    resume.attach(next, 1);
    assert.equal(previous.closedWith, CloseCode.goingAway, "the old connection is told it was taken over");
    assert.equal(host.connected, next);
    assert.equal(host.current, "streaming");
    assert.deepEqual(next.sent, [{ type: "session_resumed", session_id: "s1", received_samples: 32_000 }]);
    assert.deepEqual(next.redelivered, [FINAL]);
    assert.deepEqual(calls, ["continueStream", "resumeFlow"]);
  });

  it("a resume of a released session reopens the engine at the end of the last final", () => {
    const { resume, calls } = fakeSession("released", undefined);
    const next = new FakeConnection();
    resume.attach(next, 3);
    assert.deepEqual(next.sent, [{ type: "session_resumed", session_id: "s1", received_samples: 24_000 }]);
    assert.deepEqual(next.redelivered, []);
    assert.deepEqual(calls, ["reopen 24000"]);
  });

  it("a resume of a drained session gets stream_closed", () => {
    const { resume, calls } = fakeSession("drained", undefined);
    resume.attach(new FakeConnection(), 3);
    assert.deepEqual(calls, ["continueStream", "closeStream"]);
  });

  it("only a waiting session releases its decoder, and a session not yet configured or over cannot be resumed", () => {
    const { resume, calls } = fakeSession("draining");
    assert.equal(resume.releaseDecoder("node_budget"), false);
    assert.deepEqual(calls, []);
    assert.throws(() => fakeSession("idle").resume.attach(new FakeConnection(), 0), SessionStateError);
    assert.throws(() => fakeSession("closed").resume.attach(new FakeConnection(), 0), SessionStateError);
  });
});
