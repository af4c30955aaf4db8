import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToHex, PcmInputReader, pcmBytes, WholeFrames } from "./pcm-input.js";

test("Int16Array passes through; aligned bytes are viewed in place", () => {
  const reader = new PcmInputReader();
  const pcm = Int16Array.of(1, -2, 3);
  assert.equal(reader.read(pcm), pcm);
  const bytes = pcmBytes(pcm);
  const view = reader.read(bytes);
  assert.equal(view.buffer, pcm.buffer);
  assert.deepEqual([...view], [1, -2, 3]);
});

test("bytes split mid-sample are carried to the next call", () => {
  const reader = new PcmInputReader();
  const bytes = pcmBytes(Int16Array.of(1000, -1000, 12345));
  assert.deepEqual([...reader.read(bytes.subarray(0, 3))], [1000]);
  assert.deepEqual([...reader.read(bytes.subarray(3, 4))], [-1000]);
  assert.deepEqual([...reader.read(bytes.subarray(4))], [12345]);
});

test("bytes at an odd offset are copied, Node Buffers work", () => {
  const backing = new Uint8Array(7);
  backing.set(pcmBytes(Int16Array.of(7, -7, 300)), 1);
  assert.deepEqual([...new PcmInputReader().read(backing.subarray(1))], [7, -7, 300]);
  assert.deepEqual([...new PcmInputReader().read(Buffer.from(pcmBytes(Int16Array.of(42))))], [42]);
});

test("Float32Array −1..1 is converted with clamping", () => {
  assert.deepEqual([...new PcmInputReader().read(Float32Array.of(0, 0.5, -1, 2))], [0, 16384, -32768, 32767]);
});

test("bytesToHex of PCM gives little-endian lowercase hex", () => {
  assert.equal(bytesToHex(pcmBytes(Int16Array.of(1, -1, 0x1234))), "0100ffff3412");
  assert.equal(bytesToHex(new Uint8Array(0)), "");
  const big = Int16Array.from({ length: 8000 }, (_, i) => i * 7 - 20_000);
  assert.equal(bytesToHex(pcmBytes(big)), Buffer.from(pcmBytes(big)).toString("hex"));
});

test("WholeFrames keeps a partial frame for the next call, and passes one channel through", () => {
  const frames = new WholeFrames(2);
  assert.deepEqual(Array.from(frames.push(Int16Array.from([1, -1, 2]))), [1, -1]);
  assert.deepEqual(Array.from(frames.push(Int16Array.from([-2, 3]))), [2, -2]);
  assert.deepEqual(Array.from(frames.push(Int16Array.from([-3]))), [3, -3]);
  const mono = Int16Array.from([7, 8, 9]);
  assert.equal(new WholeFrames(1).push(mono), mono);
});
