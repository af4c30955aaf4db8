/**
 * Issue 4's proof for a two-channel stream (`channels: 2`, issue 16): the SDK streams stereo speech
 * (a different sequence of eval utterances on each channel, 26 s) on one connection through the
 * seeded fault-injection proxy, which cuts it 20+ times, stalls it (some stalls outlast the
 * heartbeat timeout) and delays every chunk. Each channel must get exactly what an uninterrupted
 * run of the same stereo audio gives it: the same finals (segment ids, texts, spans, word times),
 * each once and in order, and no audio lost. Once with the TestEngine, once with the engine
 * `earshot serve` ships (PocketSphinx, FAST_DECODER_ARGS, VAD gate) and a decoder hold of 50 ms,
 * so that at many drops each channel gives its decoder back on its own and resumes where it stood.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { interleavePcm } from "@earshot/audio";
import { TestEngine } from "@earshot/engines";
import type { TranscriptMessage } from "@earshot/protocol";
import type { EarshotServer } from "@earshot/server";
import { chaosRun, type FaultEngine, faultServer, shippedEngine, uninterruptedRun } from "./helpers/chaos-run.js";
import { reopenings, summary, transcriptText } from "./helpers/sdk-run.js";
import { speechStream } from "./helpers/speech.js";

const KEY = "two-channel-fault-key";
const LEFT = speechStream(["ps-goforward", "ls-1089-134691-0000", "ps-librivox-0880", "ps-cards-005"], 800);
const RIGHT = speechStream(["ps-forever-input2", "ps-cards-002", "ls-1089-134686-0002"], 1100);
const STEREO = (() => {
  const length = Math.max(LEFT.length, RIGHT.length);
  const pad = (pcm: Int16Array) => {
    const out = new Int16Array(length);
    out.set(pcm);
    return out;
  };
  return interleavePcm([pad(LEFT), pad(RIGHT)]);
})();
const SPEED = 2;
const MIN_CUTS = 20;
const HEARTBEAT_TIMEOUT_MS = 800;

const ENGINES: FaultEngine[] = [
  { name: "TestEngine", create: () => new TestEngine(), seed: 0x5eed_1601 },
  {
    name: "PocketSphinx (shipped settings), decoders given back after 50 ms",
    create: shippedEngine,
    seed: 0x5eed_1602,
    holdDecoderMs: 50,
  },
];

const ofChannel = (finals: readonly TranscriptMessage[], channel: number) =>
  finals.filter((f) => f.channel === channel);

for (const entry of ENGINES) {
  const { name, seed, holdDecoderMs } = entry;
  describe(`two-channel fault injection with ${name}`, () => {
    let server: EarshotServer;
    let port: number;
    let url: string;

    before(async () => {
      ({ server, port, url } = await faultServer(entry, KEY));
    });

    after(() => server.close());

    it(`${MIN_CUTS}+ cuts, stalls and delays: each channel's uninterrupted finals, each once, nothing lost`, {
      timeout: 180_000,
    }, async (t) => {
      const reference = await uninterruptedRun(url, KEY, STEREO, 2);
      const { run, result, counts } = await chaosRun({
        serverPort: port,
        apiKey: KEY,
        seed,
        speech: STEREO,
        speed: SPEED,
        chaos: { cutEveryMs: [60, 200], stallProbability: 0.15, stallMs: [200, 1600], delayMs: [0, 25] },
        minCuts: MIN_CUTS,
        heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
        channels: 2,
      });
      t.diagnostic(
        `${counts.cuts} cuts (${reopenings(run).length} recoveries), ${counts.stalls} stalls, ` +
          `${counts.connections} connections, ${run.wireFinalIds.length - run.finals.length} finals re-sent and filtered`,
      );
      assert.equal(result.code, 1000, `closed with ${result.code}: ${result.reason}`);
      assert.equal(result.lostMs, 0);
      assert.deepEqual(run.lost, [], "audio_lost events");
      assert.ok(counts.cuts >= MIN_CUTS, `only ${counts.cuts} cuts`);
      assert.ok(counts.stalls >= 1, "at least one stall");
      for (const channel of [0, 1]) {
        const expected = ofChannel(reference.finals, channel);
        const got = ofChannel(run.finals, channel);
        assert.ok(expected.length >= 3, `channel ${channel}: ${expected.length} finals in the reference run`);
        const ids = got.map((f) => f.segment_id);
        for (let i = 1; i < ids.length; i++) {
          assert.ok((ids[i] ?? 0) > (ids[i - 1] ?? 0), `channel ${channel}: ids ${ids.join(",")}`);
        }
        assert.equal(transcriptText(got), transcriptText(expected), `channel ${channel}: word for word`);
        assert.deepEqual(summary(got), summary(expected), `channel ${channel}: segment ids, spans, word times`);
      }
      assert.equal(run.finals.length, reference.finals.length, "every final carries its channel");
      assert.ok(reopenings(run).length >= MIN_CUTS / 2, `${reopenings(run).length} reconnections`);
      assert.deepEqual(
        reopenings(run).filter((s) => s.resumed !== true),
        [],
        "every reconnection resumed the session",
      );
      assert.equal(run.sessions.length, 1);
      assert.deepEqual(
        run.errors.map((e) => e.code),
        [],
      );
      if (holdDecoderMs !== undefined) {
        const metrics = await (await fetch(`${url}/metrics`)).text();
        const released = Number(/earshot_decoders_released_total\{reason="hold_expired"\} (\d+)/.exec(metrics)?.[1]);
        t.diagnostic(`${released} decoders given back while waiting for a resume`);
        assert.ok(released >= 2, `only ${released} decoders were given back`);
      }
    });
  });
}
