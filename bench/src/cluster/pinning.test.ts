import assert from "node:assert/strict";
import { test } from "node:test";
import { describePins, pinPlan } from "./pinning.js";

test("one node runs on every core; more get a core each while there are cores; the rest share", () => {
  assert.deepEqual(pinPlan(1, 2, true), [undefined]);
  assert.deepEqual(pinPlan(2, 2, true), ["0", "1"]);
  assert.deepEqual(pinPlan(3, 2, true), ["0", "1", undefined]);
  assert.deepEqual(pinPlan(3, 8, true), ["0", "1", "2"]);
  assert.deepEqual(pinPlan(3, 2, false), [undefined, undefined, undefined]);
  assert.equal(describePins(["0", "1", undefined]), "node1: cpu 0, node2: cpu 1, node3: any");
});
