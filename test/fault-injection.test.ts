/**
 * Issue 4's proof over a hostile network: the SDK streams real speech (seven eval utterances with
 * pauses, 26 s) through a seeded fault-injection TCP proxy that cuts the connection at random
 * moments (20+ times), stalls it (some stalls outlast the client's heartbeat timeout) and delays
 * every chunk. Chaos goes on through close(). The application must see exactly what an
 * uninterrupted run of the same audio gives: the same finals (segment_ids, texts, spans, word
 * times), each once and in order, and no audio_lost. Once with the TestEngine (words named by their
 * start time), once with the engine `earshot serve` ships (PocketSphinx with FAST_DECODER_ARGS
 * behind the VAD gate: the words and their times must match too), and once more with it and a
 * decoder hold of 50 ms, so that waiting sessions give their decoders back at many drops and
 * continue on another from their checkpoint (issue 15: before checkpoints, the words after such a
 * resume differed in 13 of 14 seeded runs).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import type { EarshotServer } from "@earshot/server";
import { chaosRun, type FaultEngine, faultServer, shippedEngine, uninterruptedRun } from "./helpers/chaos-run.js";
import { assertExactlyOnce, reopenings, summary, transcriptText } from "./helpers/sdk-run.js";
import { speechStream } from "./helpers/speech.js";

const KEY = "fault-key";
const SPEECH = speechStream(
  [
    "ps-goforward",
    "ls-1089-134691-0000",
    "ps-librivox-0880",
    "ps-cards-005",
    "ps-forever-input2",
    "ls-1089-134686-0002",
    "ps-cards-002",
  ],
  800,
);
/** 2× real time: the 26 s stream takes ~13 s, time for 20+ cuts with reconnects in between. */
const SPEED = 2;
const MIN_CUTS = 20;
/** Acks come every 250 ms of audio (125 ms at 2×): a stall longer than this drops the connection. */
const HEARTBEAT_TIMEOUT_MS = 800;

const ENGINES: FaultEngine[] = [
  { name: "TestEngine", create: () => new TestEngine(), seed: 0x5eed_0001 },
  { name: "PocketSphinx (shipped settings)", create: shippedEngine, seed: 0x5eed_0002 },
  {
    name: "PocketSphinx (shipped settings), decoders given back after 50 ms",
    create: shippedEngine,
    seed: 0x5eed_0004,
    holdDecoderMs: 50,
  },
];

for (const entry of ENGINES) {
  const { name, seed, holdDecoderMs } = entry;
  describe(`fault injection with ${name}`, () => {
    let server: EarshotServer;
    let port: number;
    let url: string;

    before(async () => {
      ({ server, port, url } = await faultServer(entry, KEY));
    });

    after(() => server.close());

    it(`${MIN_CUTS}+ cuts, stalls and delays: the uninterrupted run's finals, each once, nothing lost`, {
      timeout: 120_000,
    }, async (t) => {
      const reference = await uninterruptedRun(url, KEY, SPEECH);
      assert.ok(reference.finals.length >= 5, `reference run: ${reference.finals.length} finals`);
      const { run, result, counts } = await chaosRun({
        serverPort: port,
        apiKey: KEY,
        seed,
        speech: SPEECH,
        speed: SPEED,
        chaos: { cutEveryMs: [60, 200], stallProbability: 0.15, stallMs: [200, 1600], delayMs: [0, 25] },
        minCuts: MIN_CUTS,
        heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      });
      const heartbeatDrops = run.states.filter((s) => s.error?.message.startsWith("No message from the server")).length;
      t.diagnostic(
        `${counts.cuts} cuts (${reopenings(run).length} recoveries), ${counts.stalls} stalls (${heartbeatDrops} heartbeat drops), ` +
          `${counts.delayedChunks} delayed chunks, ${counts.connections} connections, ` +
          `${run.wireFinalIds.length - run.finals.length} finals re-sent and filtered`,
      );
      t.diagnostic(`transcript: ${transcriptText(run.finals)}`);

      assert.equal(result.code, 1000, `closed with ${result.code}: ${result.reason}`);
      assert.equal(result.lostMs, 0);
      assertExactlyOnce(run);
      assert.equal(transcriptText(run.finals), transcriptText(reference.finals), "word for word");
      assert.deepEqual(summary(run.finals), summary(reference.finals), "segment ids, spans, word times");
      assert.ok(counts.cuts >= MIN_CUTS, `only ${counts.cuts} cuts`);
      assert.ok(counts.stalls >= 1, "at least one stall");
      // The server kept the session through every drop: each reconnection resumed it.
      // Every drop of an established connection (cuts during a handshake only fail that attempt)
      // was followed by exactly one resumed session.
      const reopened = reopenings(run);
      const drops = run.states.filter((s) => s.to === "reconnecting" && s.from !== "reconnecting").length;
      assert.ok(drops >= MIN_CUTS / 2, `${drops} established connections dropped`);
      assert.equal(reopened.length, drops);
      assert.deepEqual(
        reopened.filter((s) => s.resumed !== true),
        [],
        "every reconnection resumed the session",
      );
      assert.equal(run.sessions.length, 1);
      assert.deepEqual(
        run.errors.map((e) => e.code),
        [],
      );
      if (holdDecoderMs !== undefined) {
        // The hold expired during drops: those resumes continued on a decoder given back and lent again.
        const metrics = await (await fetch(`${url}/metrics`)).text();
        const released = Number(/earshot_decoders_released_total\{reason="hold_expired"\} (\d+)/.exec(metrics)?.[1]);
        t.diagnostic(`${released} decoders given back while waiting for a resume`);
        assert.ok(released >= 2, `only ${released} decoders were given back`);
      }
    });
  });
}
