import assert from "node:assert/strict";
import { test } from "node:test";
import { BandExtender } from "@earshot/audio";
import { mirror, tiltedMirror, upsample } from "./band-variants.js";

const PCM_8K = Int16Array.from({ length: 4000 }, (_, i) =>
  Math.round(8000 * Math.sin(i * 0.7) + 3000 * Math.sin(i * 2.3)),
);

test("the first-order tilted mirror is what the server's BandExtender computes", () => {
  for (const gainDb of [0, -5, -10]) {
    const expected = new BandExtender({ gainDb }).process(upsample(PCM_8K));
    assert.deepEqual(tiltedMirror(gainDb).apply(PCM_8K), expected);
  }
});

test("the flat mirror at 0 dB is zero-stuffing: odd positions silent, even ones doubled", () => {
  const out = mirror(0).apply(PCM_8K);
  const x = upsample(PCM_8K);
  for (let n = 0; n < 200; n++) {
    assert.equal(out[n], n % 2 === 0 ? Math.max(-32768, Math.min(32767, 2 * (x[n] as number))) : 0);
  }
});
