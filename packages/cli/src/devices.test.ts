import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseArecordList, parseFfmpegSources, parseProcPcm } from "./devices.js";

describe("device lists", () => {
  test("arecord -L: names with their (multi-line) descriptions", () => {
    const listing = `null
    Discard all samples (playback) or generate zero samples (capture)
default
    Playback/recording through the PulseAudio sound server
hw:CARD=PCH,DEV=0
    HDA Intel PCH, ALC3246 Analog
    Direct hardware device without any conversions
`;
    assert.deepEqual(parseArecordList(listing), [
      { id: "null", name: "Discard all samples (playback) or generate zero samples (capture)" },
      { id: "default", name: "Playback/recording through the PulseAudio sound server" },
      {
        id: "hw:CARD=PCH,DEV=0",
        name: "HDA Intel PCH, ALC3246 Analog, Direct hardware device without any conversions",
      },
    ]);
  });

  test("ffmpeg -sources alsa: one device a line, the default starred", () => {
    const listing = `Auto-detected sources for alsa:
* default [Default ALSA Output] (none)
  hw:CARD=PCH,DEV=0 [HDA Intel PCH, ALC3246 Analog] (none)
`;
    assert.deepEqual(parseFfmpegSources(listing), [
      { id: "default", name: "Default ALSA Output" },
      { id: "hw:CARD=PCH,DEV=0", name: "HDA Intel PCH, ALC3246 Analog" },
    ]);
  });

  test("/proc/asound/pcm: only devices with a capture side", () => {
    const listing = `00-00: ALC3246 Analog : ALC3246 Analog : playback 1 : capture 1
00-03: HDMI 0 : HDMI 0 : playback 1
01-00: USB Audio : USB Audio : capture 1
`;
    assert.deepEqual(parseProcPcm(listing), [
      { id: "hw:0,0", name: "ALC3246 Analog" },
      { id: "hw:1,0", name: "USB Audio" },
    ]);
  });
});
