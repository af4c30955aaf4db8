import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readAaiParams } from "./aai-params.js";

const read = (query: string) => readAaiParams(new URLSearchParams(query));

describe("readAaiParams", () => {
  it("maps AssemblyAI's parameters onto a stream config", () => {
    const checked = read(
      "sample_rate=8000&encoding=pcm_mulaw&format_turns=true&max_turn_silence=900&keyterms_prompt=%5B%22earshot%22%5D&language_code=en&token=x",
    );
    assert.ok(checked.ok);
    assert.deepEqual(checked.params, {
      encoding: "pcm_mulaw",
      sampleRate: 8000,
      formatTurns: true,
      config: { timestamp_granularity: "word", endpointing_ms: 900, keyterms: ["earshot"], language: "en" },
      ignored: [],
    });
  });

  it("defaults to 16 kHz PCM, and names what it ignores", () => {
    const checked = read("speech_model=u3-rt-pro&min_turn_silence=100&whatever=1&redact_pii=false");
    assert.ok(checked.ok);
    assert.equal(checked.params.encoding, "pcm_s16le");
    assert.equal(checked.params.sampleRate, 16_000);
    assert.equal(checked.params.formatTurns, false);
    assert.deepEqual(checked.params.ignored, ["speech_model", "min_turn_silence", "whatever"]);
  });

  it("refuses what AssemblyAI refuses and what earshot cannot honour", () => {
    for (const query of [
      "sample_rate=0",
      "sample_rate=16000.5",
      "sample_rate=7999",
      "sample_rate=48001",
      "encoding=pcm_f32le",
      "format_turns=1",
      "max_turn_silence=9",
      "max_turn_silence=5001",
      "keyterms_prompt=earshot",
      'keyterms_prompt=[""]',
      "end_of_turn_confidence_threshold=-0.1",
      "redact_pii=true",
      "filter_profanity=true",
      "webhook_url=https://example.com/hook",
      "language_code=e",
    ]) {
      assert.equal(read(query).ok, false, query);
    }
  });
});
