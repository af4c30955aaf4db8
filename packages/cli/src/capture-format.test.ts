import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BACKENDS, type CaptureBackend } from "./capture-backends.js";
import { chooseCaptureFormat, describeCapabilities, parseHwParams } from "./capture-format.js";

const backend = (name: string) => BACKENDS.find((b) => b.name === name) as CaptureBackend;
const arecord = backend("alsa");
const ffmpeg = backend("ffmpeg");

/** `arecord -D hw:1,0 --dump-hw-params` for a USB microphone (the block between the dashes). */
const USB_MIC = `HW Params of device "hw:1,0":
--------------------
ACCESS:  MMAP_INTERLEAVED RW_INTERLEAVED
FORMAT:  S16_LE
SUBFORMAT:  STD
SAMPLE_BITS: 16
FRAME_BITS: 16
CHANNELS: 1
RATE: [44100 48000]
PERIOD_TIME: [1000 1000000]
PERIOD_SIZE: [45 48000]
PERIOD_BYTES: [90 96000]
PERIODS: [2 1024]
BUFFER_TIME: [1000 2000000]
BUFFER_SIZE: [45 96000]
BUFFER_BYTES: [90 192000]
TICK_TIME: ALL
--------------------
`;

/** An onboard codec (HDA) that records only 32-bit stereo. */
const HDA_32BIT = `FORMAT:  S32_LE
CHANNELS: 2
RATE: (44099 192001)
`;

/** The plug layer or a sound server: anything goes. */
const PLUGIN = `FORMAT:  S8 U8 S16_LE S16_BE U16_LE U16_BE S24_LE S24_BE U24_LE U24_BE S32_LE S32_BE U32_LE U32_BE FLOAT_LE FLOAT_BE
CHANNELS: [1 1073741823]
RATE: [1 4294967295]
`;

describe("parseHwParams", () => {
  test("reads single values, closed and open intervals, and the format list", () => {
    assert.deepEqual(parseHwParams(USB_MIC), {
      rates: { min: 44_100, max: 48_000 },
      channels: { min: 1, max: 1 },
      formats: ["S16_LE"],
    });
    assert.deepEqual(parseHwParams(HDA_32BIT)?.rates, { min: 44_100, max: 192_000 });
  });

  test("is undefined for an error instead of a dump", () => {
    assert.equal(parseHwParams("arecord: main:831: audio open error: Device or resource busy\n"), undefined);
  });
});

describe("chooseCaptureFormat", () => {
  test("asks a USB microphone for 48 kHz mono 16-bit, its native format", () => {
    assert.deepEqual(chooseCaptureFormat(parseHwParams(USB_MIC), arecord), {
      rate: 48_000,
      channels: 1,
      sampleFormat: "S16_LE",
    });
  });

  test("takes 32-bit stereo from a codec that has nothing else", () => {
    assert.deepEqual(chooseCaptureFormat(parseHwParams(HDA_32BIT), arecord), {
      rate: 48_000,
      channels: 2,
      sampleFormat: "S32_LE",
    });
  });

  test("asks a converting plugin for 48 kHz mono, not 16 kHz (its linear resampler would alias)", () => {
    assert.deepEqual(chooseCaptureFormat(parseHwParams(PLUGIN), arecord), {
      rate: 48_000,
      channels: 1,
      sampleFormat: "S16_LE",
    });
  });

  test("a device at one odd rate gets that rate", () => {
    const caps = { rates: { min: 11_000, max: 11_000 }, channels: { min: 1, max: 2 }, formats: ["S16_LE"] };
    assert.equal(chooseCaptureFormat(caps, arecord).rate, 11_000);
  });

  test("--rate and --channels win; an unprobed device gets 48 kHz mono 16-bit", () => {
    assert.deepEqual(chooseCaptureFormat(parseHwParams(USB_MIC), arecord, { rate: 44_100, channels: 2 }), {
      rate: 44_100,
      channels: 2,
      sampleFormat: "S16_LE",
    });
    assert.deepEqual(chooseCaptureFormat(undefined, arecord), { rate: 48_000, channels: 1, sampleFormat: "S16_LE" });
  });

  test("ffmpeg reads 16-bit only: a 32-bit-only device names the backends that can", () => {
    assert.throws(
      () => chooseCaptureFormat(parseHwParams(HDA_32BIT), ffmpeg),
      /offers only S32_LE; ffmpeg cannot capture that \(ffmpeg reads 16-bit only\): use --backend alsa or sox/,
    );
  });
});

describe("describeCapabilities", () => {
  test("says what a device takes, in a line", () => {
    assert.equal(describeCapabilities(parseHwParams(USB_MIC) as never), "44100–48000 Hz, 1 ch, S16_LE");
    assert.equal(describeCapabilities(parseHwParams(PLUGIN) as never), "any rate, any channels, any format");
  });
});
