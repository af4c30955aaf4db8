import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeepgramUpgradeError } from "./listen-errors.js";
import { parseListenQuery } from "./listen-query.js";

const parse = (query: string) => parseListenQuery(new URLSearchParams(query), ["pocketsphinx-en-us"]);
const refusal = (query: string): DeepgramUpgradeError => {
  try {
    parse(query);
  } catch (error) {
    if (error instanceof DeepgramUpgradeError) return error;
    throw error;
  }
  throw new Error(`${query} was accepted`);
};

describe("parseListenQuery", () => {
  it("reads Deepgram's defaults: finals only, endpointing on, no events, mono", () => {
    const query = parse("encoding=linear16&sample_rate=16000");
    assert.equal(query.model, "default");
    assert.equal(query.channels, 1);
    assert.equal(query.multichannel, false);
    assert.equal(query.interimResults, false);
    assert.equal(query.endpointing, true);
    assert.equal(query.vadEvents, false);
    assert.equal(query.utteranceEnd, false);
    assert.deepEqual(query.config, { model: "default", interim_results: false, numerals: false });
    assert.deepEqual(query.ignored, []);
  });

  it("maps Deepgram's model names to the engine's default, and the engine's own names to themselves", () => {
    assert.equal(parse("encoding=mulaw&model=nova-3").config.model, "default");
    assert.equal(parse("encoding=mulaw&model=nova-3").model, "nova-3");
    assert.equal(parse("encoding=mulaw&model=pocketsphinx-en-us").config.model, "pocketsphinx-en-us");
  });

  it("maps the stream options onto earshot's config", () => {
    const query = parse(
      "encoding=linear16&sample_rate=44100&channels=2&multichannel=true&interim_results=true&endpointing=300" +
        "&utterance_end_ms=1000&vad_events=true&language=en-US&keyterm=earshot&keyterm=deep%20gram&numerals=true" +
        "&redact=pci&redact=ssn&redact=true&redact=numbers",
    );
    assert.equal(query.sampleRate, 44_100);
    assert.equal(query.channels, 2);
    assert.equal(query.multichannel, true);
    assert.equal(query.utteranceEnd, true);
    assert.deepEqual(query.config, {
      model: "default",
      language: "en-US",
      interim_results: true,
      endpointing_ms: 300,
      keyterms: ["earshot", "deep gram"],
      numerals: true,
      redact: ["pci", "ssn", "numbers"],
    });
  });

  it("endpointing=false turns speech_final off; out-of-range values are clamped to earshot's bounds", () => {
    assert.equal(parse("encoding=mulaw&endpointing=false").endpointing, false);
    assert.equal(parse("encoding=mulaw&endpointing=false").config.endpointing_ms, undefined);
    assert.equal(parse("encoding=mulaw&endpointing=0").config.endpointing_ms, 10);
    assert.equal(parse("encoding=mulaw&endpointing=9000").config.endpointing_ms, 5000);
  });

  it("smart_format turns numerals on; vad_events asks the session for partials", () => {
    assert.equal(parse("encoding=mulaw&smart_format=true").config.numerals, true);
    const vad = parse("encoding=mulaw&vad_events=true");
    assert.equal(vad.interimResults, false);
    assert.equal(vad.config.interim_results, true);
  });

  it("names the parameters it takes and ignores", () => {
    assert.deepEqual(parse("encoding=mulaw&punctuate=true&diarize=true&tag=a&tag=b&whatever=1").ignored, [
      "punctuate",
      "diarize",
      "tag",
      "whatever",
    ]);
  });

  it("refuses what Deepgram refuses, with its codes", () => {
    const cases: [string, string][] = [
      ["", "unsupported_encoding"],
      ["encoding=flac", "unsupported_encoding"],
      ["encoding=nope", "unsupported_encoding"],
      ["encoding=linear16", "bad_request"],
      ["encoding=linear16&sample_rate=96000", "unsupported_encoding"],
      ["encoding=linear16&sample_rate=16k", "bad_request"],
      ["encoding=mulaw&sample_rate=16000", "unsupported_encoding"],
      ["encoding=opus&sample_rate=44100", "unsupported_encoding"],
      ["encoding=opus&channels=2", "unsupported_encoding"],
      ["encoding=mulaw&channels=0", "bad_request"],
      ["encoding=mulaw&channels=9", "bad_request"],
      ["encoding=mulaw&interim_results=1", "bad_request"],
      ["encoding=mulaw&model=a&model=b", "bad_request"],
      ["encoding=mulaw&redact=aggressive_numbers", "unsupported_redaction"],
      ["encoding=mulaw&redact=name", "unsupported_redaction"],
      ["encoding=mulaw&keyterm=", "bad_request"],
      ["encoding=mulaw&language=x", "bad_request"],
      [`encoding=mulaw&keyterm=${"k".repeat(101)}`, "bad_request"],
      [`encoding=mulaw&model=${"m".repeat(129)}`, "bad_request"],
      ["encoding=mulaw&model=a%0Ab", "bad_request"],
    ];
    for (const [query, code] of cases) {
      const error = refusal(query);
      assert.equal(error.code, code, query);
      assert.ok(error.message.length > 0 && error.message.length < 300, query);
    }
  });
});
