import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { CHECKPOINT_SETTLE_MS, CHECKPOINT_WAIT_MS, type HandOffHost, SessionHandOff } from "./session-handoff.js";
import type { SessionState } from "./session-states.js";

interface FakeSession {
  state: SessionState;
  speaking: boolean;
  readonly asked: string[];
  readonly host: HandOffHost;
}

/** A session as the hand-off sees it: its state, whether it speaks, and what it was asked to do. */
function fakeSession(state: SessionState, wantsCheckpoints = true): FakeSession {
  const asked: string[] = [];
  const session: FakeSession = {
    state,
    speaking: false,
    asked,
    host: {
      state: () => session.state,
      inUtterance: () => session.speaking,
      wantsCheckpoints: () => wantsCheckpoints,
      atBoundary: () => asked.push("atBoundary"),
      move: () => asked.push("move"),
    },
  };
  return session;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("SessionHandOff", () => {
  it("moves a silent streaming session at once, on a later turn", async () => {
    const session = fakeSession("streaming");
    const handOff = new SessionHandOff(session.host);
    handOff.request();
    assert.deepEqual(session.asked, [], "not inside the call that asked");
    await nextTurn();
    assert.deepEqual(session.asked, ["atBoundary"]);
  });

  it("waits for the utterance in progress: its final, then the checkpoint after it", async () => {
    const session = fakeSession("streaming");
    session.speaking = true;
    const handOff = new SessionHandOff(session.host);
    handOff.request();
    await nextTurn();
    assert.deepEqual(session.asked, [], "mid-utterance");
    session.speaking = false;
    handOff.finalMade();
    await nextTurn();
    assert.deepEqual(session.asked, [], "the checkpoint after the final is owed");
    assert.equal(handOff.atBoundary, false);
    handOff.checkpoint();
    await nextTurn();
    assert.deepEqual(session.asked, ["atBoundary"]);
  });

  it("after a final with no checkpoint within the settle time, does not wait for checkpoints again", async () => {
    const session = fakeSession("streaming");
    const handOff = new SessionHandOff(session.host);
    handOff.finalMade(); // before the drain: the engine sends no checkpoint
    await sleep(CHECKPOINT_SETTLE_MS + 50);
    session.speaking = true;
    handOff.request();
    await nextTurn();
    assert.deepEqual(session.asked, []);
    session.speaking = false;
    handOff.finalMade();
    await nextTurn();
    assert.deepEqual(session.asked, ["atBoundary"], "moved right after the final");
  });

  it("a stream that sends checkpoints but gave none after a final (a finalize) moves after a bounded wait", async () => {
    const session = fakeSession("streaming");
    const handOff = new SessionHandOff(session.host);
    handOff.finalMade();
    handOff.checkpoint(); // the stream sends checkpoints
    handOff.request();
    await nextTurn();
    assert.deepEqual(session.asked, ["atBoundary"]);
    session.asked.length = 0;
    handOff.finalMade(); // a final with no checkpoint after it
    await sleep(CHECKPOINT_SETTLE_MS + 50);
    assert.deepEqual(session.asked, [], "still waiting for its checkpoint");
    await sleep(CHECKPOINT_WAIT_MS);
    assert.deepEqual(session.asked, ["atBoundary"]);
  });

  it("a stream of an engine whose other streams sent checkpoints waits for its own (bounded)", async () => {
    const engine = {};
    const first = fakeSession("streaming");
    const firstHandOff = new SessionHandOff(first.host, engine);
    firstHandOff.finalMade();
    firstHandOff.checkpoint();
    const second = fakeSession("streaming");
    const handOff = new SessionHandOff(second.host, engine);
    handOff.request();
    await nextTurn();
    second.asked.length = 0;
    handOff.finalMade(); // its first final: the engine is known to send checkpoints
    await sleep(CHECKPOINT_SETTLE_MS + 50);
    assert.deepEqual(second.asked, [], "waits past the settle time for its checkpoint");
    handOff.checkpoint();
    await nextTurn();
    assert.deepEqual(second.asked, ["atBoundary"]);
  });

  it("a client without checkpoints moves right after the final", async () => {
    const session = fakeSession("streaming", false);
    session.speaking = true;
    const handOff = new SessionHandOff(session.host);
    handOff.request();
    session.speaking = false;
    handOff.finalMade();
    await nextTurn();
    assert.deepEqual(session.asked, ["atBoundary"]);
  });

  it("an opening or closing session waits for its state to change; one with no client to tell moves now", async () => {
    for (const state of ["opening", "draining"] as const) {
      const session = fakeSession(state);
      const handOff = new SessionHandOff(session.host);
      handOff.request();
      await nextTurn();
      assert.deepEqual(session.asked, [], state);
      session.state = state === "opening" ? "streaming" : "finished";
      handOff.stateChanged();
      await nextTurn();
      assert.deepEqual(session.asked, [state === "opening" ? "atBoundary" : "move"], state);
    }
    for (const state of ["waiting", "released", "drained", "finished"] as const) {
      const session = fakeSession(state);
      new SessionHandOff(session.host).request();
      await nextTurn();
      assert.deepEqual(session.asked, ["move"], state);
    }
  });

  it("at the drain's bound moves mid-utterance, and does nothing for a closed session", async () => {
    const session = fakeSession("streaming");
    session.speaking = true;
    const handOff = new SessionHandOff(session.host);
    handOff.request();
    handOff.now();
    await nextTurn();
    assert.deepEqual(session.asked, ["move"]);
    const closed = fakeSession("closed");
    new SessionHandOff(closed.host).now();
    await nextTurn();
    assert.deepEqual(closed.asked, []);
  });

  it("does nothing until asked", async () => {
    const session = fakeSession("streaming");
    const handOff = new SessionHandOff(session.host);
    handOff.finalMade();
    handOff.checkpoint();
    handOff.stateChanged();
    await nextTurn();
    assert.deepEqual(session.asked, []);
  });
});
