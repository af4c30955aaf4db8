/**
 * `earshot transcribe --channels split`: a stereo "call" built from real eval speech (the customer
 * on the left channel says ps-goforward, then ps-forever-input2; between the two the agent on the
 * right channel says ps-cards-005), transcribed by a real PocketSphinx server, both channels on
 * one connection (`channels: 2`; a TCP proxy in front of the server counts the connections). Every
 * format must give each channel's words, from its own clips, under its own label, in the order the
 * turns were spoken.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { concatPcm, writeWav } from "@earshot/audio";
import { FaultProxy, loadEvalSet, loadPcm } from "@earshot/test-support";
import { runEarshot, type Served, serveEarshot } from "./helpers/earshot-cli.js";

const KEY = "channels-key";
const dir = mkdtempSync(join(tmpdir(), "earshot-channels-"));
const clips = new Map(loadEvalSet().map((u) => [u.id, u]));
const clip = (id: string) => clips.get(id) ?? assert.fail(`no eval clip ${id}`);
const GO = clip("ps-goforward");
const CARDS = clip("ps-cards-005");
const FOREVER = clip("ps-forever-input2");
const GAP_MS = 500;

/** Where each turn lies in the call, in ms: [speaker, clip, start, end]. */
const TURNS = (() => {
  const turns: [string, typeof GO, number, number][] = [];
  let at = 0;
  for (const [speaker, utterance] of [
    ["customer", GO],
    ["agent", CARDS],
    ["customer", FOREVER],
  ] as const) {
    const ms = loadPcm(utterance.path).length / 16;
    turns.push([speaker, utterance, at, at + ms]);
    at += ms + GAP_MS;
  }
  return turns;
})();

/** Each channel's reference words (normalized eval transcripts). */
const VOCABULARY: Record<string, Set<string>> = {
  customer: new Set(`${GO.text} ${FOREVER.text}`.split(" ")),
  agent: new Set(CARDS.text.split(" ")),
};

/** The stereo call: each channel carries its speaker's turns and silence while the other speaks. */
function writeCall(path: string): string {
  const channels = ["customer", "agent"].map((speaker) =>
    concatPcm(
      ...TURNS.flatMap(([who, utterance], i) => {
        const pcm = loadPcm(utterance.path);
        const turn = who === speaker ? pcm : new Int16Array(pcm.length);
        return i < TURNS.length - 1 ? [turn, new Int16Array(GAP_MS * 16)] : [turn];
      }),
    ),
  );
  writeFileSync(path, writeWav(16_000, channels));
  return path;
}

/**
 * Words of one channel's final: most from its speaker's own clips, none that only the other
 * speaker said (PocketSphinx mishears a few words; it never moves one across channels).
 */
function assertOwnWords(speaker: string, text: string): void {
  const other = speaker === "customer" ? "agent" : "customer";
  const words = text.split(" ");
  const own = words.filter((w) => VOCABULARY[speaker]?.has(w));
  assert.ok(own.length >= words.length * 0.6, `[${speaker}] ${text}: few of its own words`);
  const foreign = words.filter((w) => VOCABULARY[other]?.has(w) && !VOCABULARY[speaker]?.has(w));
  assert.deepEqual(foreign, [], `[${speaker}] ${text}: words of the ${other}`);
}

/** A final lies within its turn (give or take the decoder's frame). */
function assertInTurn(index: number, startMs: number, endMs: number): void {
  const [speaker, , from, to] = TURNS[index] ?? assert.fail(`no turn ${index}`);
  assert.ok(
    startMs >= from - 50 && endMs <= to + 100,
    `${speaker} turn ${index}: ${startMs}–${endMs} not in ${from}–${to}`,
  );
}

describe("earshot transcribe --channels split (PocketSphinx)", () => {
  let server: Served;
  /** A proxy without faults in front of the server: it counts the CLI's connections. */
  let proxy: FaultProxy;
  let proxyUrl: string;
  let call: string;
  const transcribe = (file: string, ...extra: string[]) =>
    runEarshot(["transcribe", file, "--url", proxyUrl, "--api-key", KEY, ...extra]);
  /**
   * One run after another: each split run is two streams sent as fast as the server takes them,
   * and on a small machine a few at once would be refused (over_capacity) by admission control.
   */
  async function inTurn(runs: (() => ReturnType<typeof transcribe>)[]) {
    const results = [];
    for (const run of runs) results.push(await run());
    return results;
  }

  before(async () => {
    call = writeCall(join(dir, "call.wav"));
    server = await serveEarshot([], KEY);
    proxy = new FaultProxy({
      target: { host: "127.0.0.1", port: Number(new URL(server.url).port) },
      seed: 0x5eed_0016,
    });
    proxyUrl = await proxy.listen();
  });

  after(async () => {
    await proxy?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("text: one line per final, [speaker] first, in the order spoken; json, srt and vtt agree; one connection each", async () => {
    const split = ["--channels", "split", "--speakers", "customer,agent"];
    const connectionsBefore = proxy.counts.connections;
    const [text, json, srt, vtt] = await inTurn(
      ["text", "json", "srt", "vtt"].map((format) => () => transcribe(call, ...split, "--format", format)),
    );
    for (const result of [text, json, srt, vtt]) assert.equal(result?.code, 0, result?.stderr);
    assert.equal(proxy.counts.connections - connectionsBefore, 4, "both channels of a run on one connection");

    const lines = (text?.stdout ?? "").trimEnd().split("\n");
    assert.deepEqual(
      lines.map((l) => /^\[(\w+)\] /.exec(l)?.[1]),
      ["customer", "agent", "customer"],
      text?.stdout,
    );
    assert.equal(lines[0], "[customer] go forward ten meters");
    for (const line of lines) {
      const [, speaker = "", words = ""] = /^\[(\w+)\] (.*)$/.exec(line) ?? [];
      assertOwnWords(speaker, words);
    }

    const parsed = JSON.parse(json?.stdout ?? "");
    assert.deepEqual(parsed.channels, [
      { channel: 0, speaker: "customer" },
      { channel: 1, speaker: "agent" },
    ]);
    assert.equal(parsed.text, lines.join("\n"));
    assert.ok(parsed.duration_ms >= (TURNS.at(-1)?.[3] ?? 0) - 20, `duration ${parsed.duration_ms}`);
    const segments = parsed.segments as {
      id: number;
      channel: number;
      speaker: string;
      start_ms: number;
      end_ms: number;
      text: string;
      words: { word: string; start_ms: number; end_ms: number; confidence: number }[];
    }[];
    assert.deepEqual(
      segments.map((s) => [s.id, s.channel, s.speaker]),
      [
        [0, 0, "customer"],
        [1, 1, "agent"],
        [2, 0, "customer"],
      ],
    );
    segments.forEach((s, i) => {
      assertInTurn(i, s.start_ms, s.end_ms);
      assert.equal(s.words.map((w) => w.word).join(" "), s.text);
      for (const w of s.words) assert.ok(w.start_ms >= s.start_ms && w.end_ms <= s.end_ms, `${w.word} in ${s.text}`);
      if (i > 0) assert.ok(s.start_ms > (segments[i - 1]?.end_ms ?? 0), "turns in time order");
    });

    const srtCues = (srt?.stdout ?? "").trimEnd().split("\n\n");
    assert.deepEqual(
      srtCues.map((cue) => cue.split("\n")[0]),
      ["1", "2", "3"],
    );
    assert.deepEqual(
      srtCues.map((cue) => cue.split("\n")[2]),
      lines,
    );
    assert.match(srtCues[1] ?? "", /^2\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\n\[agent\] /);

    const [header, ...vttCues] = (vtt?.stdout ?? "").trimEnd().split("\n\n");
    assert.equal(header, "WEBVTT");
    assert.deepEqual(
      vttCues.map((cue) => cue.split("\n")[1]),
      lines.map((l) => l.replace(/^\[(\w+)\] /, "<v $1>")),
    );
    assert.deepEqual(
      vttCues.map((cue) => cue.split("\n")[0]),
      srtCues.map((cue) => cue.split("\n")[1]?.replace(/,/g, ".")),
    );
  });

  it("labels default to channel N; a 44.1 kHz stereo FLAC (through ffmpeg) keeps its channels apart", async () => {
    const flac = join(dir, "call.flac");
    execFileSync("ffmpeg", ["-nostdin", "-loglevel", "error", "-y", "-i", call, "-ar", "44100", flac]);
    const [wav, compressed] = await inTurn([
      () => transcribe(call, "--channels", "split"),
      () => transcribe(flac, "--channels", "split"),
    ]);
    assert.ok(wav && compressed);
    assert.equal(wav.code, 0, wav.stderr);
    assert.equal(compressed.code, 0, compressed.stderr);
    const speakers = (out: string) =>
      out
        .trimEnd()
        .split("\n")
        .map((l) => /^\[([^\]]+)\]/.exec(l)?.[1]);
    assert.deepEqual(speakers(wav.stdout), ["channel 0", "channel 1", "channel 0"]);
    assert.deepEqual(speakers(compressed.stdout), ["channel 0", "channel 1", "channel 0"]);
    assert.match(compressed.stdout, /^\[channel 0\] go forward ten meters\n/);
  });

  it("--channels mix (the default) is one stream of everything; a mono file split is one channel", async () => {
    const [mixed, byDefault, mono] = await inTurn([
      () => transcribe(call, "--channels", "mix"),
      () => transcribe(call),
      () => transcribe(GO.path, "--channels", "split", "--speakers", "customer,agent"),
    ]);
    assert.ok(mixed && byDefault && mono);
    assert.equal(mixed.code, 0, mixed.stderr);
    assert.equal(mixed.stdout, byDefault.stdout);
    assert.equal(mixed.stdout.trimEnd().split("\n").length, 1);
    assert.match(mixed.stdout, /^go forward ten meters .*forever\n$/);
    assert.equal(mono.code, 0, mono.stderr);
    assert.equal(mono.stdout, "[customer] go forward ten meters\n");
  });

  it("refuses --speakers without split, an unknown mode and an empty label (exit 2)", async () => {
    for (const args of [
      ["--speakers", "customer,agent"],
      ["--channels", "both"],
      ["--channels", "split", "--speakers", "customer,,agent"],
    ]) {
      const result = await transcribe(call, ...args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(
        result.stderr,
        /^earshot: (--speakers needs --channels split|invalid --channels|invalid --speakers)/,
      );
      assert.equal(result.stdout, "");
    }
  });
});
