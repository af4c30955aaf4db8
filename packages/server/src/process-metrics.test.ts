import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sharedProcessRegistry } from "./process-metrics.js";

describe("sharedProcessRegistry", () => {
  it("is one registry per process, with the process metrics", async () => {
    const registry = sharedProcessRegistry();
    assert.equal(sharedProcessRegistry(), registry);
    const text = await registry.metrics();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
    assert.doesNotMatch(text, /earshot_/);
  });
});
