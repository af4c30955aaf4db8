/**
 * `earshot serve` decodes OpenAI uploads that are not WAV through ffmpeg (the CLI's decoder, passed
 * to the server): mp3 and ogg made at test time from a real speech WAV, sent with the `openai` SDK
 * to a real PocketSphinx server process. Bytes ffmpeg cannot read are 415, without our temp path.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EVAL_DIR, normalizeWords } from "@earshot/test-support";
import OpenAI, { toFile } from "openai";
import { type Served, serveEarshot } from "./helpers/earshot-cli.js";

const KEY = "ffmpeg-key";
const SPEECH = new URL("en-16k/ps-goforward.wav", EVAL_DIR).pathname;
const EXPECTED = "go forward ten meters";
const dir = mkdtempSync(join(tmpdir(), "earshot-openai-ffmpeg-"));

function encode(name: string, options: string[]): string {
  const path = join(dir, name);
  execFileSync("ffmpeg", ["-nostdin", "-loglevel", "error", "-y", "-i", SPEECH, ...options, path]);
  return path;
}

describe("OpenAI transcriptions of compressed files through ffmpeg", () => {
  let server: Served;
  let client: OpenAI;

  before(async () => {
    server = await serveEarshot([], KEY);
    client = new OpenAI({ baseURL: `${server.url.replace(/^ws/, "http")}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("transcribes a 44.1 kHz stereo mp3 and an ogg/vorbis file", async () => {
    const mp3 = encode("speech.mp3", ["-ar", "44100", "-ac", "2", "-b:a", "128k"]);
    const ogg = encode("speech.ogg", ["-ar", "22050", "-c:a", "libvorbis"]);
    for (const file of [mp3, ogg]) {
      const { text } = await client.audio.transcriptions.create({ file: createReadStream(file), model: "whisper-1" });
      assert.equal(normalizeWords(text).join(" "), EXPECTED, file);
    }
  });

  it("refuses bytes ffmpeg cannot decode with 415, without naming the server's temporary file", async () => {
    await assert.rejects(
      client.audio.transcriptions.create({
        file: await toFile(Buffer.from("not audio at all"), "x.mp3"),
        model: "whisper-1",
      }),
      (error: unknown) =>
        error instanceof OpenAI.APIError &&
        error.status === 415 &&
        error.code === "unsupported_file_format" &&
        !error.message.includes("earshot-upload-"),
    );
  });
});
