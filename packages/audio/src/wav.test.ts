import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { AudioFormatError } from "./errors.js";
import { mulawEncode } from "./g711.js";
import { readWav, writeWav } from "./wav.js";

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, "..");
const EN_16K = join(packageRoot, "../../test/fixtures/eval/en-16k");
const SHARED_MULAW = "/work/shared/eval/en-8k-mulaw";
const MULAW_FIXTURE = join(packageRoot, "test-fixtures/ps-cards-001-mulaw.wav");

/** A WAV file built by hand: RIFF header, then the given chunks (pad bytes added). */
function riff(chunks: [string, Uint8Array][]): Uint8Array {
  const parts: number[] = [];
  const u32 = (n: number) => parts.push(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
  const ascii = (s: string) => parts.push(...[...s].map((c) => c.charCodeAt(0)));
  ascii("RIFF");
  u32(0);
  ascii("WAVE");
  for (const [id, body] of chunks) {
    ascii(id);
    u32(body.length);
    parts.push(...body);
    if (body.length % 2) parts.push(0);
  }
  const bytes = Uint8Array.from(parts);
  new DataView(bytes.buffer).setUint32(4, bytes.length - 8, true);
  return bytes;
}

function fmt(formatTag: number, channels: number, rate: number, bits: number, extensible = false): Uint8Array {
  const body = new DataView(new ArrayBuffer(extensible ? 40 : 16));
  const blockAlign = (channels * bits) / 8;
  body.setUint16(0, extensible ? 0xfffe : formatTag, true);
  body.setUint16(2, channels, true);
  body.setUint32(4, rate, true);
  body.setUint32(8, rate * blockAlign, true);
  body.setUint16(12, blockAlign, true);
  body.setUint16(14, bits, true);
  if (extensible) {
    body.setUint16(16, 22, true);
    body.setUint16(18, bits, true);
    body.setUint32(20, 3, true);
    body.setUint16(24, formatTag, true);
    // rest of the KSDATAFORMAT GUID: 0000-0010-8000-00aa00389b71
    [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71].forEach((b, i) => {
      body.setUint8(26 + i, b);
    });
  }
  return new Uint8Array(body.buffer);
}

function bytesOf(values: number[], width: number, write: (view: DataView, at: number, v: number) => void): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * width));
  values.forEach((v, i) => {
    write(view, i * width, v);
  });
  return new Uint8Array(view.buffer);
}

describe("readWav", () => {
  test("reads what writeWav wrote (stereo PCM16), as int16 and as float", () => {
    const left = Int16Array.of(0, 1000, -1000, 32767, -32768);
    const right = Int16Array.of(5, 6, 7, 8, 9);
    const bytes = writeWav(22_050, [left, right]);
    const wav = readWav(bytes, { output: "int16" });
    assert.equal(wav.sampleRate, 22_050);
    assert.equal(wav.channels, 2);
    assert.equal(wav.encoding, "pcm");
    assert.equal(wav.frames, 5);
    assert.deepEqual(wav.samples, [left, right]);
    const float = readWav(bytes);
    assert.equal(float.samples[0]?.[1], 1000 / 32768);
  });

  test("skips LIST and fact chunks and honours pad bytes", () => {
    const data = bytesOf([100, -200, 300], 2, (v, at, x) => v.setInt16(at, x, true));
    const bytes = riff([
      ["LIST", Uint8Array.of(1, 2, 3)], // odd size: one pad byte follows
      ["fmt ", fmt(1, 1, 16_000, 16)],
      ["fact", Uint8Array.of(3, 0, 0, 0)],
      ["data", data],
    ]);
    assert.deepEqual(readWav(bytes, { output: "int16" }).samples, [Int16Array.of(100, -200, 300)]);
  });

  test("decodes 8-bit unsigned, 24-bit and 32-bit integer PCM", () => {
    const u8 = readWav(
      riff([
        ["fmt ", fmt(1, 1, 8000, 8)],
        ["data", Uint8Array.of(128, 255, 0)],
      ]),
    );
    assert.deepEqual([...(u8.samples[0] ?? [])], [0, 127 / 128, -1]);
    const s24 = bytesOf([0x400000, -0x400000, 0x7fffff], 3, (v, at, x) => {
      v.setUint8(at, x & 0xff);
      v.setUint8(at + 1, (x >> 8) & 0xff);
      v.setUint8(at + 2, (x >> 16) & 0xff);
    });
    const pcm24 = readWav(
      riff([
        ["fmt ", fmt(1, 1, 48_000, 24)],
        ["data", s24],
      ]),
      { output: "int16" },
    );
    assert.deepEqual(pcm24.samples, [Int16Array.of(16384, -16384, 32767)]);
    const s32 = bytesOf([2 ** 30, -(2 ** 31)], 4, (v, at, x) => v.setInt32(at, x, true));
    assert.deepEqual(
      [
        ...(readWav(
          riff([
            ["fmt ", fmt(1, 1, 48_000, 32)],
            ["data", s32],
          ]),
        ).samples[0] ?? []),
      ],
      [0.5, -1],
    );
  });

  test("decodes 32-bit float, also inside WAVE_FORMAT_EXTENSIBLE", () => {
    const data = bytesOf([0.25, -0.5, 0.25, -0.5], 4, (v, at, x) => v.setFloat32(at, x, true));
    for (const extensible of [false, true]) {
      const wav = readWav(
        riff([
          ["fmt ", fmt(3, 2, 44_100, 32, extensible)],
          ["data", data],
        ]),
      );
      assert.equal(wav.encoding, "float");
      assert.equal(wav.formatTag, 3);
      assert.deepEqual(wav.samples, [Float32Array.of(0.25, 0.25), Float32Array.of(-0.5, -0.5)]);
    }
  });

  test("decodes μ-law (7) and A-law (6)", () => {
    const mulaw = readWav(
      riff([
        ["fmt ", fmt(7, 1, 8000, 8)],
        ["data", mulawEncode(Int16Array.of(0, 1000))],
      ]),
      {
        output: "int16",
      },
    );
    assert.equal(mulaw.encoding, "mulaw");
    assert.deepEqual(mulaw.samples, [Int16Array.of(0, 988)]);
    const alaw = readWav(
      riff([
        ["fmt ", fmt(6, 1, 8000, 8)],
        ["data", Uint8Array.of(0xd5, 0x2a)],
      ]),
      { output: "int16" },
    );
    assert.equal(alaw.encoding, "alaw");
    assert.deepEqual(alaw.samples, [Int16Array.of(8, -32256)]);
  });

  test("reads a data chunk whose size runs past the end (streamed WAV) up to the last whole frame", () => {
    const bytes = writeWav(16_000, [Int16Array.of(1, 2, 3)]);
    new DataView(bytes.buffer).setUint32(40, 0xffffffff, true);
    assert.deepEqual(readWav(bytes.subarray(0, bytes.length - 1), { output: "int16" }).samples, [Int16Array.of(1, 2)]);
  });

  test("throws typed errors on invalid and unsupported input", () => {
    const expectCode = (bytes: Uint8Array, code: string) =>
      assert.throws(
        () => readWav(bytes),
        (error: unknown) => error instanceof AudioFormatError && error.code === code && !error.message.includes("\n"),
      );
    expectCode(new TextEncoder().encode("this is not audio at all"), "invalid_wav");
    expectCode(new Uint8Array(0), "invalid_wav");
    expectCode(riff([["data", Uint8Array.of(0, 0)]]), "invalid_wav");
    expectCode(riff([["fmt ", fmt(1, 1, 16_000, 16)]]), "invalid_wav");
    expectCode(riff([["fmt ", Uint8Array.of(1, 0)]]), "invalid_wav");
    expectCode(
      riff([
        ["fmt ", fmt(2, 1, 16_000, 4)],
        ["data", Uint8Array.of(0)],
      ]),
      "unsupported_wav_format",
    ); // ADPCM
    expectCode(
      riff([
        ["fmt ", fmt(1, 1, 16_000, 12)],
        ["data", Uint8Array.of(0)],
      ]),
      "unsupported_wav_format",
    );
    const truncated = writeWav(16_000, [Int16Array.of(1, 2, 3)]).subarray(0, 20);
    expectCode(truncated, "invalid_wav");
  });

  test("reads every en-16k eval fixture as 16 kHz mono PCM16", () => {
    const files = readdirSync(EN_16K).filter((f) => f.endsWith(".wav"));
    assert.ok(files.length >= 10);
    for (const file of files) {
      const bytes = readFileSync(join(EN_16K, file));
      const wav = readWav(bytes, { output: "int16" });
      assert.equal(wav.sampleRate, 16_000, file);
      assert.equal(wav.channels, 1, file);
      assert.equal(wav.encoding, "pcm", file);
      assert.ok(wav.frames > 16_000 && wav.frames < 20 * 16_000, file);
      assert.ok(
        wav.samples[0]?.some((s) => Math.abs(s) > 1000),
        `${file} has signal`,
      );
    }
  });

  test("reads the μ-law fixture (format 7, fact chunk, odd data size)", () => {
    const wav = readWav(readFileSync(MULAW_FIXTURE), { output: "int16" });
    assert.equal(wav.sampleRate, 8000);
    assert.equal(wav.encoding, "mulaw");
    assert.equal(wav.formatTag, 7);
    assert.equal(wav.frames, 8763); // 1.095 s
    const ref = readWav(readFileSync(join(EN_16K, "ps-cards-001.wav")), { output: "int16" });
    assert.equal(Math.round((wav.frames / 8000) * 1000), Math.round((ref.frames / 16_000) * 1000));
  });

  test("reads every shared en-8k-mulaw clip (when /work/shared is present)", {
    skip: !existsSync(SHARED_MULAW),
  }, () => {
    for (const file of readdirSync(SHARED_MULAW).filter((f) => f.endsWith(".wav"))) {
      const wav = readWav(readFileSync(join(SHARED_MULAW, file)));
      assert.equal(wav.sampleRate, 8000, file);
      assert.equal(wav.encoding, "mulaw", file);
      assert.ok(wav.frames > 8000, file);
    }
  });
});

describe("writeWav", () => {
  test("rejects ragged channels", () => {
    assert.throws(() => writeWav(16_000, [Int16Array.of(1), Int16Array.of(1, 2)]), RangeError);
    assert.throws(() => writeWav(16_000, []), RangeError);
  });
});
