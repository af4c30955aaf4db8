import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fullNodeAnswer, ROOM_ELSEWHERE_RETRY_AFTER_S } from "./cluster-room.js";

describe("fullNodeAnswer", () => {
  const own = "The server holds 4 streams; its limit is 4.";

  it("without a cluster view, the node's own refusal", () => {
    assert.deepEqual(fullNodeAnswer(own, 5, undefined), { message: own, retryAfterSeconds: 5 });
  });

  it("every node full: says so, with the configured Retry-After", () => {
    const answer = fullNodeAnswer(own, 5, { nodes: 2, withRoom: 0 });
    assert.equal(answer.retryAfterSeconds, 5);
    assert.equal(answer.message, `${own} Every node of the cluster is full (3 nodes).`);
    assert.match(fullNodeAnswer(own, 5, { nodes: 0, withRoom: 0 }).message, /\(1 node\)\.$/);
  });

  it("another node had room: retry at once", () => {
    const answer = fullNodeAnswer(own, 5, { nodes: 2, withRoom: 1 });
    assert.equal(answer.retryAfterSeconds, ROOM_ELSEWHERE_RETRY_AFTER_S);
    assert.match(answer.message, /1 other node had room/);
    assert.match(fullNodeAnswer(own, 5, { nodes: 2, withRoom: 2 }).message, /2 other nodes had room/);
  });
});
