import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BandExtender, concatPcm, mulawDecode, mulawEncode, Resampler } from "@earshot/audio";
import { createWireDecoder, type WireDecoderOptions } from "./wire-decoder.js";

/** 1 s of an 8 kHz signal with a few tones, μ-law encoded. */
const MULAW = (() => {
  const pcm = new Int16Array(8000);
  for (let i = 0; i < pcm.length; i++) {
    pcm[i] = Math.round(6000 * Math.sin(i * 0.31) + 3000 * Math.sin(i * 1.7) + 1500 * Math.sin(i * 2.9));
  }
  return mulawEncode(pcm);
})();

/** The decoder's whole output for `bytes` sent in pieces of `sizes` (cycled), flush included. */
function decodeAll(bytes: Uint8Array, options: WireDecoderOptions, sizes: readonly number[]): Int16Array {
  const decoder = createWireDecoder("mulaw", options);
  const parts: Int16Array[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const size = sizes[k % sizes.length] as number;
    const result = decoder.decode(bytes.subarray(at, at + size), false);
    assert.ok(result.ok);
    assert.equal(result.positions, 2 * Math.min(size, bytes.length - at));
    parts.push(result.pcm);
    at += size;
  }
  parts.push(decoder.flush());
  return concatPcm(...parts);
}

function upsampled(bytes: Uint8Array): Int16Array {
  const resampler = new Resampler({ inputRate: 8000 });
  return concatPcm(resampler.push(mulawDecode(bytes)), resampler.flush());
}

const OFF: WireDecoderOptions = { overlapMs: 0, bandExtensionDb: undefined, startSample: 0 };

describe("wire decoder: G.711 band extension", () => {
  it("off: the resampler's output, unchanged", () => {
    assert.deepEqual(decodeAll(MULAW, OFF, [160]), upsampled(MULAW));
  });

  it("on: the resampler's output with the image added, in any split into messages", () => {
    const options = { ...OFF, bandExtensionDb: -10 };
    const expected = new BandExtender({ gainDb: -10 }).process(upsampled(MULAW));
    assert.notDeepEqual(expected, upsampled(MULAW));
    for (const sizes of [[160], [1, 77, 3], [8000]]) assert.deepEqual(decodeAll(MULAW, options, sizes), expected);
  });

  it("a stream opened again at a later position continues the image's phase", () => {
    const options = { ...OFF, bandExtensionDb: -10, startSample: 4801 };
    const expected = new BandExtender({ gainDb: -10, startSample: 4801 }).process(upsampled(MULAW));
    assert.deepEqual(decodeAll(MULAW, options, [160]), expected);
  });

  it("never touches 16 kHz PCM", () => {
    const decoder = createWireDecoder("pcm_s16le", { ...OFF, bandExtensionDb: 0 });
    const pcm = new Int16Array([1000, 2000, 3000, 4000]);
    const result = decoder.decode(new Uint8Array(pcm.buffer), false);
    assert.ok(result.ok);
    assert.deepEqual([...result.pcm], [1000, 2000, 3000, 4000]);
  });
});
