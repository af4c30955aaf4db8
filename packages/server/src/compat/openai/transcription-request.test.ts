import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import type { Form } from "./multipart-form.js";
import { OpenAiError } from "./openai-errors.js";
import { parseTranscriptionRequest, promptKeyterms } from "./transcription-request.js";

const engine = new TestEngine();
const form = (fields: Record<string, string | string[]>): Form => ({
  file: undefined,
  fields: new Map(Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])),
});
const refusal = (fields: Record<string, string | string[]>): OpenAiError => {
  try {
    parseTranscriptionRequest(form(fields), engine);
  } catch (error) {
    assert.ok(error instanceof OpenAiError);
    return error;
  }
  assert.fail("expected a refusal");
};

describe("parseTranscriptionRequest", () => {
  it("maps OpenAI model names to the engine's default model, with defaults for the rest", () => {
    for (const model of ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"]) {
      const parsed = parseTranscriptionRequest(form({ model }), engine);
      assert.equal(parsed.engine.model, engine.capabilities.models[0]);
      assert.equal(parsed.responseFormat, "json");
      assert.deepEqual([...parsed.granularities], ["segment"]);
      assert.equal(parsed.stream, false);
    }
  });

  it("takes an earshot model name, repeated granularities, and lists ignored fields", () => {
    const model = engine.capabilities.models[0] as string;
    const parsed = parseTranscriptionRequest(
      form({ model, timestamp_granularities: ["word", "segment"], prompt: "p", temperature: "0", stream: "true" }),
      engine,
    );
    assert.equal(parsed.engine.model, model);
    assert.deepEqual([...parsed.granularities].sort(), ["segment", "word"]);
    assert.deepEqual(parsed.ignored, ["prompt", "temperature"]);
    assert.equal(parsed.stream, true);
  });

  it("refuses what it cannot serve, naming the field", () => {
    assert.equal(refusal({}).param, "model");
    assert.equal(refusal({ model: "whisper-1", response_format: "diarized_json" }).param, "response_format");
    assert.equal(refusal({ model: "whisper-1", timestamp_granularities: "char" }).param, "timestamp_granularities");
    assert.equal(refusal({ model: "nope" }).code, "unsupported_model");
    assert.equal(refusal({ model: "whisper-1", language: "xx" }).code, "unsupported_language");
    assert.equal(refusal({ model: "whisper-1", stream: "yes" }).param, "stream");
  });
});

describe("promptKeyterms", () => {
  it("splits at commas, semicolons and line breaks; trims; each once; drops what is too long", () => {
    assert.deepEqual(promptKeyterms(undefined), []);
    assert.deepEqual(promptKeyterms(" Acme Corp,  earshot;\nTwilio\r\n, ,Acme Corp"), [
      "Acme Corp",
      "earshot",
      "Twilio",
    ]);
    assert.deepEqual(promptKeyterms(`${"x".repeat(101)}, short`), ["short"]);
    assert.equal(promptKeyterms(Array.from({ length: 150 }, (_, i) => `t${i}`).join(",")).length, 100);
  });

  it("a file is a batch stream: live streams are decoded first", () => {
    assert.equal(parseTranscriptionRequest(form({ model: "whisper-1" }), engine).engine.batch, true);
  });
});
