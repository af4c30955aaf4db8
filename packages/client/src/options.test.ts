import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as protocol from "@earshot/protocol";
import {
  CHUNKING_PRESETS,
  configMessage,
  resolveChunking,
  resumeUrl,
  STREAM_PATH,
  STREAM_TOKEN_PREFIX,
  streamUrl,
  TOKEN_PATH,
} from "./options.js";

test("the constants copied from @earshot/protocol (kept out of the browser graph) are the same", () => {
  assert.equal(TOKEN_PATH, protocol.TOKEN_PATH);
  assert.equal(STREAM_TOKEN_PREFIX, protocol.STREAM_TOKEN_PREFIX);
});

describe("streamUrl", () => {
  test("maps http(s) to ws(s) and appends the stream path to a base URL", () => {
    assert.equal(streamUrl("http://127.0.0.1:8787"), `ws://127.0.0.1:8787${STREAM_PATH}`);
    assert.equal(streamUrl("https://stt.example/"), `wss://stt.example${STREAM_PATH}`);
    assert.equal(streamUrl("wss://stt.example/prefix/"), `wss://stt.example/prefix${STREAM_PATH}`);
  });

  test("keeps a full endpoint URL and its query", () => {
    assert.equal(streamUrl(`ws://h:1${STREAM_PATH}?x=1`), `ws://h:1${STREAM_PATH}?x=1`);
  });

  test("rejects other schemes", () => {
    assert.throws(() => streamUrl("ftp://h"), RangeError);
  });
});

test("resumeUrl adds the resume token to the query, keeping the rest", () => {
  assert.equal(resumeUrl(`ws://h:1${STREAM_PATH}`, "rt_a-b_c"), `ws://h:1${STREAM_PATH}?resume_token=rt_a-b_c`);
  assert.equal(resumeUrl(`wss://h${STREAM_PATH}?x=1`, "rt_x"), `wss://h${STREAM_PATH}?x=1&resume_token=rt_x`);
});

describe("resolveChunking", () => {
  test("defaults: low-latency for binary; seed-en / seed-zh for seed by language", () => {
    assert.deepEqual(resolveChunking(undefined, "binary", "zh"), CHUNKING_PRESETS["low-latency"]);
    assert.deepEqual(resolveChunking(undefined, "seed", "en"), { chunkMs: 500, overlapMs: 100 });
    assert.deepEqual(resolveChunking(undefined, "seed", "zh-CN"), { chunkMs: 800, overlapMs: 0 });
  });

  test("presets by name and custom sizes", () => {
    assert.deepEqual(resolveChunking("seed-zh", "binary", "en"), { chunkMs: 800, overlapMs: 0 });
    assert.deepEqual(resolveChunking({ chunkMs: 250 }, "seed", "en"), { chunkMs: 250, overlapMs: 0 });
    assert.throws(() => resolveChunking({ chunkMs: 0 }, "seed", "en"), RangeError);
    assert.throws(() => resolveChunking("nope" as "seed-en", "seed", "en"), RangeError);
  });

  test("only pcm_s16le chunks overlap: a preset's overlap is dropped, an explicit one refused", () => {
    assert.deepEqual(resolveChunking(undefined, "seed", "en", "mulaw"), { chunkMs: 500, overlapMs: 0 });
    assert.deepEqual(resolveChunking("seed-en", "binary", "en", "opus"), { chunkMs: 500, overlapMs: 0 });
    assert.deepEqual(resolveChunking({ chunkMs: 200, overlapMs: 0 }, "seed", "en", "alaw"), {
      chunkMs: 200,
      overlapMs: 0,
    });
    assert.throws(() => resolveChunking({ chunkMs: 500, overlapMs: 100 }, "seed", "en", "mulaw"), RangeError);
    assert.deepEqual(resolveChunking(undefined, "seed", "en", "pcm_s16le"), { chunkMs: 500, overlapMs: 100 });
  });
});

test("configMessage: seed-compatible defaults, the client owns encoding/rate/overlap", () => {
  const message = JSON.parse(
    configMessage({ model: "whisper-1", language: "de" }, { encoding: "pcm_s16le", overlapMs: 100 }),
  );
  assert.deepEqual(message, {
    type: "config",
    config: {
      model: "whisper-1",
      language: "de",
      task: "transcribe",
      response_format: "verbose_json",
      timestamp_granularity: "word",
      encoding: "pcm_s16le",
      sample_rate: 16_000,
      chunk_overlap_ms: 100,
      checkpoints: true,
    },
  });
});

test("configMessage: each encoding with its sample rate", () => {
  const config = (encoding: "mulaw" | "alaw" | "opus") =>
    JSON.parse(configMessage({}, { encoding, overlapMs: 0 })).config as Record<string, unknown>;
  assert.deepEqual([config("mulaw").encoding, config("mulaw").sample_rate], ["mulaw", 8000]);
  assert.deepEqual([config("alaw").encoding, config("alaw").sample_rate], ["alaw", 8000]);
  assert.deepEqual([config("opus").encoding, config("opus").sample_rate], ["opus", 16_000]);
});
