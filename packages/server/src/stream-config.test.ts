import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Engine, TestEngine } from "@earshot/engines";
import type { StreamConfig } from "@earshot/protocol";
import { announcedConfig, DEFAULT_BAND_EXTENSION_DB, resolveConfig } from "./stream-config.js";

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

describe("resolveConfig: resume_state", () => {
  const state = { inner: { atSample: 0 }, vad: {} };
  const encoded = Buffer.from(JSON.stringify(state)).toString("base64url");

  it("gives the engine the decoded state at start_sample", () => {
    const result = resolveConfig({ start_sample: 48_000, resume_state: encoded, checkpoints: true }, new TestEngine());
    assert.ok(result.ok);
    assert.deepEqual(result.config.engine.resumeFrom, { atSample: 48_000, state });
    assert.equal(result.config.checkpoints, true);
  });

  it("refuses what is not base64url of a JSON object with invalid_resume_state", () => {
    for (const text of [
      Buffer.from("not json").toString("base64url"),
      Buffer.from("[1,2]").toString("base64url"),
      Buffer.from("null").toString("base64url"),
    ]) {
      const result = resolveConfig({ resume_state: text }, new TestEngine());
      assert.ok(!result.ok && result.code === "invalid_resume_state", text);
    }
  });

  it("leaves checkpoints off unless asked", () => {
    const result = resolveConfig({}, new TestEngine());
    assert.ok(result.ok);
    assert.equal(result.config.checkpoints, false);
    assert.equal(result.config.engine.resumeFrom, undefined);
  });
});

describe("resolveConfig: band_extension_db", () => {
  function resolved(config: StreamConfig, serverDefault?: number | "off") {
    const defaults = serverDefault === undefined ? undefined : { bandExtensionDb: serverDefault };
    const result = resolveConfig(config, new TestEngine(), defaults);
    assert.ok(result.ok, result.ok ? "" : result.message);
    return result.config;
  }

  it("extends 8 kHz encodings by the server's default, and says so in session_started", () => {
    for (const encoding of ["mulaw", "alaw"]) {
      const config = resolved({ encoding });
      assert.equal(config.bandExtensionDb, DEFAULT_BAND_EXTENSION_DB);
      assert.equal(announcedConfig(config).band_extension_db, DEFAULT_BAND_EXTENSION_DB);
    }
    assert.equal(resolved({ encoding: "mulaw" }, -15).bandExtensionDb, -15);
  });

  it("never extends 16 kHz encodings, whatever the config says", () => {
    for (const encoding of ["pcm_s16le", "opus"]) {
      const config = resolved({ encoding, band_extension_db: -5 });
      assert.equal(config.bandExtensionDb, undefined);
      assert.equal("band_extension_db" in announcedConfig(config), false);
    }
  });

  it("tells the engine that band-extended 8 kHz encodings are telephone audio, and others nothing", () => {
    for (const encoding of ["mulaw", "alaw"]) {
      assert.equal(resolved({ encoding }).engine.telephone, true, encoding);
      assert.equal(resolved({ encoding, band_extension_db: -10 }).engine.telephone, true, encoding);
      assert.equal("telephone" in resolved({ encoding, band_extension_db: "off" }).engine, false, encoding);
      assert.equal("telephone" in resolved({ encoding }, "off").engine, false, encoding);
    }
    for (const encoding of ["pcm_s16le", "opus"]) assert.equal("telephone" in resolved({ encoding }).engine, false);
  });

  it("takes the stream's gain or off over the server's", () => {
    assert.equal(resolved({ encoding: "mulaw", band_extension_db: -20 }).bandExtensionDb, -20);
    assert.equal(resolved({ encoding: "mulaw", band_extension_db: -20 }, "off").bandExtensionDb, -20);
    const off = resolved({ encoding: "alaw", band_extension_db: "off" });
    assert.equal(off.bandExtensionDb, undefined);
    assert.equal(announcedConfig(off).band_extension_db, "off");
    assert.equal(resolved({ encoding: "mulaw" }, "off").bandExtensionDb, undefined);
  });
});

describe("resolveConfig: numerals and redact", () => {
  const engine = new TestEngine();

  it("none by default; kinds once each, in the order given", () => {
    const plain = resolveConfig({}, engine);
    assert.ok(plain.ok);
    assert.deepEqual(plain.config.text, { numerals: false, redact: [] });
    const asked = resolveConfig({ numerals: true, redact: ["ssn", "pci", "ssn"] }, engine);
    assert.ok(asked.ok);
    assert.deepEqual(asked.config.text, { numerals: true, redact: ["ssn", "pci"] });
  });

  it("refuses a kind it does not redact with unsupported_redaction, naming it", () => {
    const refused = resolveConfig({ redact: ["pci", "pii", "PCI"] }, engine);
    assert.ok(!refused.ok);
    assert.equal(refused.code, "unsupported_redaction");
    assert.match(refused.message, /"pii", "PCI"/);
  });
});
