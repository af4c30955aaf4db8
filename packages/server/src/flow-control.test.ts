import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AckMessage } from "@earshot/protocol";
import { AckClock, BacklogPause, SessionFlow } from "./flow-control.js";
import { StreamPosition } from "./stream-position.js";

const unguarded = (_what: string, work: () => void) => work();

describe("AckClock", () => {
  it("an ack is due every 250 ms of audio after the last one", () => {
    const acks = new AckClock(() => {}, unguarded);
    try {
      assert.equal(acks.due(3999), false);
      assert.equal(acks.due(4000), true);
      acks.sent(4000);
      assert.equal(acks.due(7999), false);
      acks.restart(16_000);
      assert.equal(acks.due(19_999), false, "counted from a reopened stream's start");
      assert.equal(acks.due(20_000), true);
    } finally {
      acks.stop();
    }
  });

  it("acks at least once a second as a heartbeat", async () => {
    let acked = 0;
    const acks = new AckClock(() => {
      acked += 1;
    }, unguarded);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(acked, 1, "the first heartbeat: no ack was ever sent");
      acks.sent(0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(acked, 1, "an ack went out less than a second ago");
    } finally {
      acks.stop();
    }
  });
});

describe("BacklogPause", () => {
  it("pauses a connection while the engine is over the limit, and reads again below half", async () => {
    const stream = { backlogMs: 500 };
    const pauses: boolean[] = [];
    const connection = { pause: (paused: boolean) => pauses.push(paused) };
    const backlog = new BacklogPause(1000, unguarded);
    backlog.check(stream, () => connection);
    assert.deepEqual(pauses, [], "under the limit");
    stream.backlogMs = 1200;
    backlog.check(stream, () => connection);
    backlog.check(stream, () => connection);
    assert.deepEqual(pauses, [true], "paused once");
    stream.backlogMs = 600;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(pauses, [true], "not yet below half");
    stream.backlogMs = 400;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(pauses, [true, false]);
  });

  it("stop() ends the polling", async () => {
    const pauses: boolean[] = [];
    const backlog = new BacklogPause(100, unguarded);
    const stream = { backlogMs: 200 };
    backlog.check(stream, () => ({ pause: (paused: boolean) => pauses.push(paused) }));
    backlog.stop();
    stream.backlogMs = 0;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(pauses, [true]);
  });
});

describe("SessionFlow", () => {
  function flowOf(acking: () => boolean) {
    const acks: number[] = [];
    const pauses: boolean[] = [];
    const connection = {
      send: (message: AckMessage) => acks.push(message.received_samples),
      pause: (paused: boolean) => pauses.push(paused),
    };
    const stream = { backlogMs: 0 };
    const position = new StreamPosition();
    position.openAt(0);
    const flow = new SessionFlow(
      { connection: () => connection, acking, stream: () => stream },
      position,
      1000,
      unguarded,
    );
    return { flow, position, stream, acks, pauses };
  }

  it("acks the audio received every 250 ms of it, only in a state that acks", () => {
    let acking = true;
    const { flow, position, acks } = flowOf(() => acking);
    try {
      position.advance(3999);
      flow.arrived();
      assert.deepEqual(acks, []);
      position.advance(1);
      flow.arrived();
      assert.deepEqual(acks, [4000]);
      acking = false;
      position.advance(8000);
      flow.arrived();
      assert.deepEqual(acks, [4000], "not acked in a state that does not ack");
    } finally {
      flow.stop();
    }
  });

  it("a connection that takes the stream over is acked at once and paused while the engine is behind", () => {
    const { flow, position, stream, acks, pauses } = flowOf(() => true);
    try {
      position.advance(100);
      stream.backlogMs = 1500;
      flow.connected();
      assert.deepEqual(acks, [100]);
      assert.deepEqual(pauses, [true]);
    } finally {
      flow.stop();
    }
  });
});
