import assert from "node:assert/strict";
import { test } from "node:test";
import { type EncodingRow, frameHeaderBytes, renderEncodings } from "./encodings-report.js";
import { describeMachine } from "./machine.js";

test("WebSocket client frames: 2 header bytes + 4 mask bytes, + 2 above 125 bytes, + 8 above 64 KiB", () => {
  assert.deepEqual([0, 125, 126, 65_535, 65_536].map(frameHeaderBytes), [6, 6, 8, 8, 14]);
});

test("the table: bytes per second from the payloads sent, the seed's hex computed for the same audio", () => {
  const wer = { errors: 1, words: 10, wer: 0.1 };
  const rows: EncodingRow[] = [
    // 1 s of pcm in 10 frames of 3200 bytes; 1 s of opus in 50 packets of 50 bytes.
    { encoding: "pcm_s16le", audio: "a", seconds: 1, payloads: Array(10).fill(3200), wer },
    { encoding: "opus", audio: "a", seconds: 1, payloads: Array(50).fill(50), wer: { ...wer, errors: 2, wer: 0.2 } },
    {
      encoding: "mulaw",
      audio: "a",
      seconds: 2,
      payloads: Array(20).fill(800),
      wer,
      bandExtensionDb: "off",
      telephoneModel: "plain",
    },
    {
      encoding: "mulaw",
      audio: "a",
      seconds: 2,
      payloads: Array(20).fill(800),
      wer: { ...wer, errors: 0, wer: 0 },
      bandExtensionDb: -10,
      telephoneModel: "plain",
    },
    {
      encoding: "mulaw",
      audio: "en-8k-mulaw as it is",
      seconds: 2,
      payloads: Array(20).fill(800),
      wer: { ...wer, errors: 4, wer: 0.4 },
      bandExtensionDb: 0,
      telephoneModel: "plain",
    },
    {
      encoding: "mulaw",
      audio: "en-8k-mulaw as it is",
      seconds: 2,
      payloads: Array(20).fill(800),
      wer: { ...wer, errors: 3, wer: 0.3 },
      bandExtensionDb: 0,
      telephoneModel: "adapted",
    },
  ];
  const text = renderEncodings({ machine: describeMachine("test"), loadAtEnd: [0, 0, 0], rows });
  // pcm: 32 000 + 10 × 8; seed hex: 2 × (38 400 hex + 33 JSON + 8 header).
  assert.match(text, /\| `pcm_s16le` \| a \| — \| — \| 32,000 \| 32,080 \| 76,882 \|/);
  // opus: 2500 + 50 × 6; hex: 50 × (100 + 33 + 8).
  assert.match(text, /\| `opus` \| a \| — \| — \| 2,500 \| 2,800 \| 7,050 \|/);
  assert.match(text, /\| `mulaw` \| a \| off \| plain \| 8,000 \| 8,080 \| 16,082 \|/);
  assert.match(text, /\| `mulaw` \| a \| −10 dB \| plain \| 8,000 \|/);
  assert.match(text, /\| `mulaw` \| en-8k-mulaw as it is \| 0 dB \| adapted \| 8,000 \|/);
  assert.match(text, /sent\s+as a bridge would, from 40\.0% to 30\.0% WER/);
  assert.match(text, /at −10 dB, the server's default\) takes μ-law through the SDK from 10\.0% to\s+0\.0% WER/);
  assert.match(text, /10\.0 WER points\s+for 11\.5× fewer bytes/);
});
