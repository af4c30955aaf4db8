import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  acksAudio,
  holdsDecoder,
  isConfigured,
  isWaiting,
  SESSION_TRANSITIONS,
  type SessionState,
} from "./session-states.js";

const STATES = Object.keys(SESSION_TRANSITIONS) as SessionState[];
const where = (predicate: (state: SessionState) => boolean) => STATES.filter(predicate);

describe("session state predicates", () => {
  it("audio flows once configured, until close_stream or a drop", () => {
    assert.deepEqual(where(isConfigured), ["opening", "streaming"]);
  });

  it("a session waits for a resume without a connection; a draining one only once its connection dropped", () => {
    assert.deepEqual(
      where((state) => isWaiting(state, false)),
      ["waiting", "released", "draining", "drained"],
    );
    assert.deepEqual(
      where((state) => isWaiting(state, true)),
      ["waiting", "released", "drained"],
    );
  });

  it("the states that hold (or open) a decoder are the ones that count against the streams", () => {
    assert.deepEqual(where(holdsDecoder), ["opening", "streaming", "waiting", "draining"]);
  });

  it("draining acks too, as the client's heartbeat while the engine drains", () => {
    assert.deepEqual(where(acksAudio), ["opening", "streaming", "draining"]);
  });
});
