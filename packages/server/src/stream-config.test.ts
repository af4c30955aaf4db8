import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Engine, TestEngine } from "@earshot/engines";
import type { StreamConfig } from "@earshot/protocol";
import { resolveConfig } from "./stream-config.js";

function wordTimestamps(config: StreamConfig, engine: Engine): boolean {
  const result = resolveConfig(config, engine);
  assert.ok(result.ok, result.ok ? "" : result.message);
  return result.config.engine.wordTimestamps;
}

describe("resolveConfig: word timestamps", () => {
  it("asks the engine for words by default and for `word`, not for `segment`", () => {
    const engine = new TestEngine();
    assert.equal(wordTimestamps({}, engine), true);
    assert.equal(wordTimestamps({ timestamp_granularity: "word" }, engine), true);
    assert.equal(wordTimestamps({ timestamp_granularity: "segment" }, engine), false);
  });

  it("accepts `word` from an engine without word timings, and leaves the words out", () => {
    assert.equal(
      wordTimestamps({ timestamp_granularity: "word" }, new TestEngine({ declares: { wordTimestamps: false } })),
      false,
    );
  });
});
