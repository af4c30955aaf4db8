/**
 * The `earshot` command as a user runs it: real processes, a real server on a free port, real files.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { writeWav } from "@earshot/audio";
import { EVAL_DIR } from "@earshot/test-support";

const BIN = new URL("../../packages/cli/bin/earshot.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "earshot-cli-"));

interface Served {
  readonly process: ChildProcess;
  readonly url: string;
  readonly key: string;
  stdout: string;
}

/** Starts `earshot serve` on a free port and waits for its ready line. */
async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", ...args], {
    env: { ...process.env, EARSHOT_API_KEYS: "", EARSHOT_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const served = { process: child, url: "", key: "", stdout: "" };
  child.stdout.on("data", (chunk: Buffer) => {
    served.stdout += chunk;
  });
  const deadline = Date.now() + 20_000;
  while (!/earshot ready on (\S+)/.test(served.stdout)) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${served.stdout}`);
    if (Date.now() > deadline) throw new Error(`serve not ready: ${served.stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  served.url = (/earshot ready on (\S+)/.exec(served.stdout)?.[1] ?? "").replace(/^http/, "ws");
  served.key = /generated API key \(this run only\): (\S+)/.exec(served.stdout)?.[1] ?? env.EARSHOT_API_KEYS ?? "";
  return served;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** Tone bursts (speech to the test engine) as a WAV at any rate and channel count. */
function toneWav(path: string, sampleRate: number, channels: number): string {
  const pattern: [toneMs: number, silenceMs: number][] = [
    [1090, 600],
    [490, 800],
  ];
  const total = Math.round((pattern.reduce((n, [t, s]) => n + t + s, 0) * sampleRate) / 1000);
  const pcm = new Int16Array(total);
  let at = 0;
  for (const [toneMs, silenceMs] of pattern) {
    const tone = Math.round((toneMs * sampleRate) / 1000);
    for (let i = 0; i < tone; i++) pcm[at + i] = Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate));
    at += tone + Math.round((silenceMs * sampleRate) / 1000);
  }
  writeFileSync(
    path,
    writeWav(
      sampleRate,
      Array.from({ length: channels }, () => pcm),
    ),
  );
  return path;
}

describe("earshot CLI", () => {
  let server: Served;

  before(async () => {
    server = await serve(["--engine", "test"]);
  });

  after(async () => {
    if (server.process.exitCode === null) server.process.kill("SIGKILL");
  });

  it("serve on loopback without keys generates one and prints a ready line", () => {
    assert.match(server.key, /^esk_[A-Za-z0-9_-]{20,}$/);
    assert.match(server.stdout, /earshot ready on http:\/\/127\.0\.0\.1:\d+ \(engine test;/);
  });

  it("transcribes 16 kHz mono, 44.1 kHz stereo and 8 kHz (sent as μ-law) files to the same transcript", async () => {
    const expected = "alpha bravo charlie delta echo foxtrot india juliett kilo";
    for (const [rate, channels] of [
      [16_000, 1],
      [44_100, 2],
      [8_000, 1],
    ] as const) {
      const file = toneWav(join(dir, `tones-${rate}-${channels}.wav`), rate, channels);
      const result = await run(["transcribe", file, "--url", server.url, "--format", "text"], {
        EARSHOT_API_KEY: server.key,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${expected}\n`, `${rate} Hz × ${channels}`);
    }
  });

  it("writes json with word timings, and srt and vtt cues", async () => {
    const file = toneWav(join(dir, "tones.wav"), 16_000, 1);
    const base = ["transcribe", file, "--url", server.url, "--api-key", server.key];
    const json = JSON.parse((await run([...base, "--format", "json"])).stdout);
    assert.equal(json.segments.length, 2);
    assert.deepEqual(json.segments[1].words[0], { word: "india", start_ms: 1680, end_ms: 1880, confidence: 1 });
    const srt = (await run([...base, "--format", "srt", "--speed", "20"])).stdout;
    assert.match(
      srt,
      /^1\n00:00:00,000 --> 00:00:01,100\nalpha bravo charlie delta echo foxtrot\n\n2\n00:00:01,680 --> /,
    );
    const vtt = (await run([...base, "--format", "vtt"])).stdout;
    assert.match(vtt, /^WEBVTT\n\n00:00:00\.000 --> 00:00:01\.100\n/);
  });

  it("exits 2 with one line for unreadable or non-audio input and bad usage", async () => {
    const notAudio = join(dir, "notes.txt");
    writeFileSync(notAudio, "not audio at all");
    for (const args of [["transcribe", notAudio], ["transcribe", join(dir, "missing.wav")], ["transcribe"], ["fly"]]) {
      const result = await run([...args, "--url", server.url], { EARSHOT_API_KEY: server.key });
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, /^earshot: /);
      assert.equal(result.stdout, "");
    }
  });

  it("exits 1 naming the error when the key is wrong", async () => {
    const file = toneWav(join(dir, "tones.wav"), 16_000, 1);
    const result = await run(["transcribe", file, "--url", server.url, "--api-key", "nope"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /unauthorized/);
  });

  it("mic says clearly when there is no microphone or recorder", async () => {
    const result = await run(["mic", "--url", server.url, "--api-key", server.key], { PATH: "/nonexistent" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no audio recorder found: install one of alsa-utils \(arecord\), sox or ffmpeg/);
  });

  it("serve refuses to run without keys on a non-loopback address", async () => {
    const result = await run(["serve", "--host", "0.0.0.0", "--port", "0", "--engine", "test"], {
      EARSHOT_API_KEYS: "",
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /no API key/);
  });

  it("serve refuses a --band-extension-db that is not a gain from -60 to 0 dB or off", async () => {
    for (const value of ["3", "-61", "loud", ""]) {
      const result = await run(["serve", "--port", "0", "--engine", "test", `--band-extension-db=${value}`]);
      assert.equal(result.code, 2, value);
      assert.match(result.stderr, /invalid --band-extension-db/);
    }
  });

  it("serve refuses a --telephone-mllr file that does not exist", async () => {
    const result = await run(["serve", "--port", "0", "--engine", "test", "--telephone-mllr", "/nonexistent/mllr"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /invalid --telephone-mllr/);
  });

  it("SIGTERM shuts the server down cleanly", async () => {
    const local = await serve(["--engine", "test"], { EARSHOT_API_KEYS: "k1,k2" });
    assert.equal(local.key, "k1,k2");
    local.process.kill("SIGTERM");
    const [code] = await once(local.process, "exit");
    assert.equal(code, 0);
    assert.match(local.stdout, /earshot stopped/);
  });

  it("serves PocketSphinx by default and transcribes real speech", async () => {
    const ps = await serve([], { EARSHOT_API_KEYS: "ps-key" });
    try {
      const health = await fetch(`${ps.url.replace(/^ws/, "http")}/readyz`);
      assert.deepEqual(await health.json(), { status: "ready", engine: "pocketsphinx" });
      const file = new URL("en-16k/ps-goforward.wav", EVAL_DIR).pathname;
      const result = await run(["transcribe", file, "--url", ps.url, "--api-key", "ps-key"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "go forward ten meters\n");
      // --numerals and --redact go into the stream's config.
      const digits = await run(["transcribe", file, "--url", ps.url, "--api-key", "ps-key", "--numerals"]);
      assert.equal(digits.code, 0, digits.stderr);
      assert.equal(digits.stdout, "go forward 10 meters\n");
      const unknown = await run(["transcribe", file, "--url", ps.url, "--api-key", "ps-key", "--redact", "pii"]);
      assert.equal(unknown.code, 1, unknown.stderr);
      assert.match(unknown.stderr, /unsupported_redaction/);
    } finally {
      ps.process.kill("SIGTERM");
      await once(ps.process, "exit");
    }
  });
});
