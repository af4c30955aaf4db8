import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineIncompatibleError } from "./contract.js";
import { EngineRouter } from "./router.js";
import { TestEngine } from "./testing/test-engine.js";

describe("EngineRouter capabilities", () => {
  it("refuses an engine that is not streaming", () => {
    const batch = new TestEngine({ name: "batch", models: ["b"], declares: { streaming: false } });
    assert.throws(
      () => new EngineRouter([new TestEngine(), batch]),
      (error: unknown) =>
        error instanceof EngineIncompatibleError &&
        error.code === "engine_incompatible" &&
        /"batch" is not a streaming engine/.test(error.message),
    );
  });

  it("refuses an engine that takes another sample rate than the protocol's", () => {
    const phone = new TestEngine({ name: "phone", declares: { sampleRate: 8000 } });
    assert.throws(
      () => new EngineRouter([phone]),
      (error: unknown) => error instanceof EngineIncompatibleError && /"phone" takes 8000 Hz/.test(error.message),
    );
  });

  it("gives word timestamps only when every engine does (a stream may reach any)", () => {
    const a = new TestEngine({ name: "a", models: ["a"] });
    const b = new TestEngine({ name: "b", models: ["b"] });
    const wordless = new TestEngine({ name: "c", models: ["c"], declares: { wordTimestamps: false } });
    assert.equal(new EngineRouter([a, b]).capabilities.wordTimestamps, true);
    const mixed = new EngineRouter([a, wordless]).capabilities;
    assert.deepEqual([mixed.wordTimestamps, mixed.streaming, mixed.sampleRate], [false, true, 16_000]);
  });
});
