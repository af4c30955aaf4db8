import assert from "node:assert/strict";
import { test } from "node:test";
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from "./g711.js";

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

test("μ-law: every code decodes and re-encodes to itself (except −0, which is +0)", () => {
  const again = mulawEncode(mulawDecode(ALL_BYTES));
  for (let byte = 0; byte < 256; byte++) {
    const expected = byte === 0x7f ? 0xff : byte; // 0x7f and 0xff both decode to 0
    assert.equal(again[byte], expected, `byte ${byte}`);
  }
});

test("μ-law: known values (G.711 table)", () => {
  assert.deepEqual([...mulawDecode(Uint8Array.of(0xff, 0x00, 0x80, 0x7f, 0xf0))], [0, -32124, 32124, 0, 120]);
  assert.deepEqual([...mulawEncode(Int16Array.of(0, 32767, -32768, 120))], [0xff, 0x80, 0x00, 0xf0]);
});

test("μ-law: PCM round trip error is within the quantization step", () => {
  const pcm = Int16Array.from({ length: 65_536 }, (_, i) => i - 32_768);
  const decoded = mulawDecode(mulawEncode(pcm));
  for (let i = 0; i < pcm.length; i++) {
    const x = pcm[i] as number;
    const error = Math.abs((decoded[i] as number) - x);
    // Segment step doubles every octave: 8 in the first, 1024 in the last (and clipping above 32124).
    const bound = Math.max(8, Math.abs(x) / 16) + (Math.abs(x) > 32_124 ? Math.abs(x) - 32_124 : 0);
    assert.ok(error <= bound, `x=${x} decoded=${decoded[i]}`);
  }
});

test("A-law: every code decodes and re-encodes to itself", () => {
  assert.deepEqual(alawEncode(alawDecode(ALL_BYTES)), ALL_BYTES);
});

test("A-law: known values (G.711 table)", () => {
  assert.deepEqual([...alawDecode(Uint8Array.of(0xd5, 0x55, 0xaa, 0x2a))], [8, -8, 32256, -32256]);
  assert.deepEqual([...alawEncode(Int16Array.of(0, -1, 32767, -32768))], [0xd5, 0x55, 0xaa, 0x2a]);
});
