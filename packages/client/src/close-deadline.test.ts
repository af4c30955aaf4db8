import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { CloseDeadline } from "./close-deadline.js";
import type { EarshotClientError } from "./errors.js";

describe("CloseDeadline", () => {
  let expired: EarshotClientError[];
  let deadline: CloseDeadline;
  beforeEach(() => {
    mock.timers.enable({ apis: ["setTimeout"] });
    expired = [];
    deadline = new CloseDeadline(1000, (error) => expired.push(error));
  });
  afterEach(() => mock.timers.reset());

  test("gives up timeoutMs after close() with close_timeout; nothing before start()", () => {
    deadline.final();
    deadline.acked(16_000);
    mock.timers.tick(5000);
    assert.equal(expired.length, 0);
    deadline.start();
    mock.timers.tick(999);
    assert.equal(expired.length, 0);
    mock.timers.tick(1);
    assert.equal(expired.length, 1);
    assert.equal(expired[0]?.code, "close_timeout");
    assert.match(expired[0]?.message ?? "", /1000 ms/);
  });

  test("a final, or an ack of more audio, starts the wait again", () => {
    deadline.start();
    mock.timers.tick(900);
    deadline.final();
    mock.timers.tick(900);
    deadline.acked(3200);
    mock.timers.tick(900);
    assert.equal(expired.length, 0);
    mock.timers.tick(100);
    assert.equal(expired.length, 1);
  });

  test("an ack of nothing new (a heartbeat, counted from before close()) does not", () => {
    deadline.acked(3200);
    deadline.start();
    mock.timers.tick(900);
    deadline.acked(3200);
    deadline.acked(1600);
    mock.timers.tick(100);
    assert.equal(expired.length, 1);
  });

  test("stop() ends the wait for good", () => {
    deadline.start();
    deadline.stop();
    deadline.final();
    deadline.acked(99_999);
    mock.timers.tick(10_000);
    assert.equal(expired.length, 0);
  });
});
