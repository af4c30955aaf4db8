/**
 * `earshot transcribe` on compressed files: mp3, ogg, flac and m4a made at test time by ffmpeg from a
 * real speech WAV (at rates other than 16 kHz, some stereo), decoded through ffmpeg by the CLI and
 * transcribed by a real PocketSphinx server. Also: pacing, missing ffmpeg, undecodable input.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EVAL_DIR } from "@earshot/test-support";
import { runEarshot, type Served, serveEarshot } from "./helpers/earshot-cli.js";

const SPEECH = new URL("en-16k/ps-goforward.wav", EVAL_DIR).pathname;
const WORDS = "go forward ten meters\n";
/** ps-goforward.wav lasts 2.79 s. */
const SPEECH_MS = 2790;
const KEY = "files-key";
const dir = mkdtempSync(join(tmpdir(), "earshot-files-"));

/** `SPEECH` re-encoded by ffmpeg; `options` set the rate, channels and codec. */
function encode(name: string, options: readonly string[]): string {
  const path = join(dir, name);
  execFileSync("ffmpeg", ["-nostdin", "-loglevel", "error", "-y", "-i", SPEECH, ...options, path]);
  return path;
}

describe("earshot transcribe: compressed files through ffmpeg", () => {
  let server: Served;
  const files: Record<string, string> = {};

  before(async () => {
    files.mp3 = encode("speech.mp3", ["-ar", "44100", "-ac", "2"]);
    files.ogg = encode("speech.ogg", ["-ar", "48000", "-c:a", "libvorbis"]);
    files.flac = encode("speech.flac", ["-ar", "22050", "-ac", "2"]);
    files.m4a = encode("speech.m4a", ["-ar", "44100", "-c:a", "aac"]);
    // A WAV encoding earshot does not decode itself: ffmpeg takes over.
    files.adpcm = encode("speech-adpcm.wav", ["-ar", "32000", "-c:a", "adpcm_ms"]);
    server = await serveEarshot([], KEY);
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const transcribe = (file: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}) =>
    runEarshot(["transcribe", file, "--url", server.url, "--api-key", KEY, ...extra], env);

  it("mp3 (44.1 kHz stereo), ogg (48 kHz), flac (22.05 kHz stereo), m4a and ADPCM WAV give the words", async () => {
    const results = await Promise.all(
      ["mp3", "ogg", "flac", "m4a", "adpcm"].map(
        async (kind) => [kind, await transcribe(files[kind] as string)] as const,
      ),
    );
    for (const [kind, result] of results) {
      assert.equal(result.code, 0, `${kind}: ${result.stderr}`);
      assert.equal(result.stdout, WORDS, kind);
    }
  });

  it("--realtime paces an ffmpeg-decoded file like a live speaker", async () => {
    const result = await transcribe(files.m4a as string, ["--realtime"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, WORDS);
    assert.ok(result.elapsedMs >= SPEECH_MS, `took ${Math.round(result.elapsedMs)} ms for ${SPEECH_MS} ms of audio`);
  });

  it("without ffmpeg: WAV still works, other formats name ffmpeg to install", async () => {
    // A PATH holding only node: no ffmpeg on it.
    const bin = join(dir, "bin-without-ffmpeg");
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
    const wav = await transcribe(SPEECH, [], { PATH: bin });
    assert.equal(wav.code, 0, wav.stderr);
    assert.equal(wav.stdout, WORDS);
    const mp3 = await transcribe(files.mp3 as string, [], { PATH: bin });
    assert.equal(mp3.code, 1);
    assert.equal(mp3.stdout, "");
    assert.equal(
      mp3.stderr,
      `earshot: ${files.mp3} is not a WAV file, and ffmpeg is not installed: install ffmpeg to read it (Debian: sudo apt-get install ffmpeg)\n`,
    );
  });

  it("a file ffmpeg cannot decode exits 2 with one line", async () => {
    const junk = join(dir, "junk.mp3");
    writeFileSync(junk, "this is not audio, whatever the name says\n".repeat(20));
    const result = await transcribe(junk);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^earshot: \S+junk\.mp3: not audio ffmpeg can decode \(ffmpeg: .+\)\n$/);
  });

  it("a video without sound says it has no audio stream", async () => {
    const silentFilm = join(dir, "silent.mp4");
    execFileSync("ffmpeg", [
      "-nostdin",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      "color=c=black:s=32x32:d=1",
      silentFilm,
    ]);
    const result = await transcribe(silentFilm);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `earshot: ${silentFilm}: no audio stream in it\n`);
  });
});
