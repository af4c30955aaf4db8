/**
 * `earshot devices` and `earshot mic --device` with no sound card: ALSA's `file` plugin with an
 * `infile` is a capture PCM that reads real speech from a raw file. A test-only ~/.asoundrc (HOME is
 * a temp dir) defines such microphones: 48 kHz mono, 44.1 kHz stereo, and a stereo-only one; the
 * speech goes through arecord, sox or ffmpeg into `earshot mic`, which converts it to 16 kHz and
 * streams it to a real PocketSphinx server, and the words must come back.
 *
 * The `null` slave makes these devices accept any format (like ALSA's plug layer or a sound
 * server), and it does not pace: the recorder reads the file as fast as it can. `--duration` ends
 * the capture inside the file (speech then silence), before its end.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EVAL_DIR } from "@earshot/test-support";
import { EARSHOT_BIN, runEarshot, type Served, serveEarshot } from "./helpers/earshot-cli.js";
import { sample, scrape } from "./helpers/prometheus.js";

const SPEECH = new URL("en-16k/ps-goforward.wav", EVAL_DIR).pathname;
const WORDS = "go forward ten meters\n";
const KEY = "mic-key";
const dir = mkdtempSync(join(tmpdir(), "earshot-capture-"));
const home = join(dir, "home");

/** Raw S16_LE speech at `rate` × `channels`, 0.3 s of silence before and 1.5 s (or more) after (by ffmpeg). */
function rawSpeech(name: string, rate: number, channels: number, silenceAfterS = 1.5): string {
  const path = join(dir, name);
  const pad = ["-af", `adelay=300:all=1,apad=pad_dur=${silenceAfterS}`];
  const format = ["-ar", String(rate), "-ac", String(channels), "-f", "s16le", "-c:a", "pcm_s16le"];
  execFileSync("ffmpeg", ["-nostdin", "-loglevel", "error", "-y", "-i", SPEECH, ...pad, ...format, path]);
  return path;
}

function fileMicrophone(id: string, description: string, infile: string): string {
  return `pcm.${id} {
  type file
  slave.pcm "null"
  file "/dev/null"
  infile "${infile}"
  format "raw"
  hint { show on description "${description}" }
}
`;
}

/**
 * A stereo-only microphone: the file plugin over a `multi` of exactly two channels of `null`, so
 * ALSA reports CHANNELS: 2 and `mic` must negotiate stereo by itself. (The other way round, the
 * multi reads its slave through mmap, which the file plugin's infile does not feed.)
 */
function stereoMicrophone(id: string, description: string, infile: string): string {
  return `pcm.${id}_2ch {
  type multi
  slaves.a.pcm "null"
  slaves.a.channels 2
  bindings.0 { slave a channel 0 }
  bindings.1 { slave a channel 1 }
  hint.show off
}
${fileMicrophone(id, description, infile).replace('slave.pcm "null"', `slave.pcm "${id}_2ch"`)}`;
}

describe("earshot devices and mic --device, on ALSA file-plugin microphones", () => {
  let server: Served;
  const env = { HOME: home };

  before(async () => {
    mkdirSync(home);
    writeFileSync(
      join(home, ".asoundrc"),
      fileMicrophone("earshot_mic48", "earshot test microphone, 48 kHz mono", rawSpeech("speech48.raw", 48_000, 1)) +
        fileMicrophone(
          "earshot_mic44",
          "earshot test microphone, 44.1 kHz stereo",
          rawSpeech("speech44.raw", 44_100, 2),
        ) +
        stereoMicrophone(
          "earshot_stereo",
          "earshot test microphone, stereo only",
          rawSpeech("stereo48.raw", 48_000, 2),
        ) +
        fileMicrophone("earshot_mic48_long", "speech, then 30 s of silence", rawSpeech("long48.raw", 48_000, 1, 30)),
    );
    server = await serveEarshot([], KEY);
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const mic = (args: readonly string[]) =>
    runEarshot(["mic", "--url", server.url, "--api-key", KEY, "--duration", "3.6", ...args], env);

  it("devices lists them with every backend, probed capabilities and the capture format", async () => {
    const json = await runEarshot(["devices", "--json"], env);
    assert.equal(json.code, 0, json.stderr);
    const listed = JSON.parse(json.stdout);
    assert.deepEqual(
      listed.backends.map((b: { name: string }) => b.name),
      ["alsa", "sox", "ffmpeg"],
    );
    const mic48 = listed.devices.find((d: { id: string }) => d.id === "earshot_mic48");
    assert.equal(mic48.name, "earshot test microphone, 48 kHz mono");
    assert.deepEqual(mic48.backends, ["alsa", "sox", "ffmpeg"]);
    // The null slave takes anything, as a converting plugin does.
    assert.equal(mic48.native.rates.min, 1);
    assert.ok(mic48.native.rates.max > 1_000_000);
    assert.ok(mic48.native.formats.includes("S16_LE"));
    assert.deepEqual(mic48.capture, { rate: 48_000, channels: 1, sampleFormat: "S16_LE" });
    assert.ok(listed.devices.some((d: { id: string }) => d.id === "earshot_mic44"));
    const stereo = listed.devices.find((d: { id: string }) => d.id === "earshot_stereo");
    assert.deepEqual(stereo.native.channels, { min: 2, max: 2 });
    assert.deepEqual(stereo.capture, { rate: 48_000, channels: 2, sampleFormat: "S16_LE" });
    assert.ok(!listed.devices.some((d: { id: string }) => d.id === "earshot_stereo_2ch"), "hidden (hint.show off)");
    assert.ok(!listed.devices.some((d: { id: string }) => d.id === "null"), "null is no microphone");

    const text = await runEarshot(["devices"], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^ {2}earshot_mic48 +earshot test microphone, 48 kHz mono +any rate, any channels, any format; captures 48000 Hz 1 ch S16_LE$/m,
    );
  });

  it("mic streams real speech through arecord, sox and ffmpeg in the device's format, converted to 16 kHz", async () => {
    const runs = [
      { device: "earshot_mic48", backend: "alsa", format: "48000 Hz, 1 ch", command: "arecord" },
      { device: "earshot_mic48", backend: "sox", format: "48000 Hz, 1 ch", command: "sox" },
      { device: "earshot_mic48", backend: "ffmpeg", format: "48000 Hz, 1 ch", command: "ffmpeg" },
      // ALSA says this one has 2 channels, so mic asks for 2.
      { device: "earshot_stereo", backend: "alsa", format: "48000 Hz, 2 ch", command: "arecord" },
      // This one takes whatever it is asked for: --rate/--channels say what the source is.
      {
        device: "earshot_mic44",
        backend: "alsa",
        format: "44100 Hz, 2 ch",
        command: "arecord",
        extra: ["--rate", "44100", "--channels", "2"],
      },
    ];
    const start = (r: (typeof runs)[number]) => mic(["--device", r.device, "--backend", r.backend, ...(r.extra ?? [])]);
    // ffmpeg's ALSA input paces itself in real time: it runs alongside the others, which run one by
    // one (unpaced, each is a burst of decoding for the engine).
    const paced = start(runs[2] as (typeof runs)[number]);
    const results = [];
    for (const run of runs) results.push(run.backend === "ffmpeg" ? await paced : await start(run));
    for (const [i, result] of results.entries()) {
      const run = runs[i] as (typeof runs)[number];
      const what = `${run.device} with ${run.command}`;
      assert.equal(result.code, 0, `${what}: ${result.stderr}`);
      assert.equal(result.stdout, WORDS, what);
      assert.ok(
        result.stderr.includes(
          `capturing "${run.device}" with ${run.command} at ${run.format}, 16-bit pcm, converted to 16 kHz mono`,
        ),
        result.stderr,
      );
    }
  });

  it("Ctrl-C (SIGINT) stops the capture and prints the transcript of what was said", async () => {
    const metrics = server.url.replace(/^ws/, "http");
    const received = async () => sample(await scrape(metrics), "earshot_audio_received_seconds_total");
    const before = await received();
    const child = spawn(
      process.execPath,
      [EARSHOT_BIN, "mic", "--device", "earshot_mic48_long", "--url", server.url, "--api-key", KEY],
      { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    // Once the server has the speech (0.3 + 2.8 s) and a pause, press Ctrl-C.
    const deadline = Date.now() + 20_000;
    while ((await received()) - before < 4) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `no audio arrived: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const exited = once(child, "exit");
    child.kill("SIGINT");
    const [code] = await exited;
    assert.equal(code, 0, stderr);
    assert.equal(stdout, WORDS);
  });

  it("a device that does not exist fails with the recorder's reason", async () => {
    const result = await mic(["--device", "no_such_microphone"]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^earshot: cannot capture from "no_such_microphone" with arecord: .*No such file/m);
  });

  it("without any recorder, devices and mic name what to install", async () => {
    const bin = join(dir, "bin-node-only");
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
    const expected =
      "earshot: no audio recorder found: install one of alsa-utils (arecord), sox or ffmpeg (Debian: sudo apt-get install alsa-utils)\n";
    for (const args of [["devices"], ["mic", "--url", server.url, "--api-key", KEY]]) {
      const result = await runEarshot(args, { ...env, PATH: bin });
      assert.equal(result.code, 1, args[0]);
      assert.equal(result.stderr, expected, args[0]);
    }
  });

  it("with recorders but no capture device, devices and mic say so", async (t) => {
    const emptyHome = join(dir, "empty-home");
    mkdirSync(emptyHome);
    const cards = execFileSync("sh", ["-c", "arecord -l 2>&1 || true"], { encoding: "utf8" });
    if (/^card \d+:/m.test(cards)) return t.skip("this machine has a sound card");
    const devices = await runEarshot(["devices"], { HOME: emptyHome });
    assert.equal(devices.code, 1);
    assert.match(devices.stderr, /^earshot: no capture device found: ALSA lists none \(no sound card/);
    const micResult = await runEarshot(["mic", "--url", server.url, "--api-key", KEY], { HOME: emptyHome });
    assert.equal(micResult.code, 1);
    assert.match(micResult.stderr, /^earshot: no microphone found: ALSA lists no capture device/);
  });
});
