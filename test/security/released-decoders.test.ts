/**
 * A session that waits for a resume gives its decoder back (issue 13: dropped sessions pinned
 * ~100 MB each). Here it gives it back at once (`holdDecoderMs: 0`), so every resume through the
 * seeded fault-injection proxy continues in a fresh decoder from the end of the last final, with
 * the SDK replaying its audio from there. The application must still see every final exactly once,
 * nothing lost, and with the TestEngine (words named by their start time) exactly the transcript of
 * an uninterrupted run; with PocketSphinx, the same words as far as re-decoding from a final's end
 * gives them.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FAST_DECODER_ARGS, PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { type Engine, TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { wordEdits } from "@earshot/test-support";
import { VadGatedEngine } from "@earshot/vad";
import { chaosRun, uninterruptedRun } from "../helpers/chaos-run.js";
import { sample, scrape } from "../helpers/prometheus.js";
import { assertExactlyOnce, reopenings, summary, transcriptText } from "../helpers/sdk-run.js";
import { speechStream } from "../helpers/speech.js";

const KEY = "release-key";
const SPEECH = speechStream(["ps-goforward", "ls-1089-134691-0000", "ps-cards-005", "ps-librivox-0880"], 800);
const SPEED = 2;
const MIN_CUTS = 10;

const ENGINES: { name: string; create: () => Engine; seed: number; exact: boolean }[] = [
  { name: "TestEngine", create: () => new TestEngine(), seed: 0x5eed_0101, exact: true },
  { name: "PocketSphinx", create: () => new PocketSphinxEngine({ workers: 2 }), seed: 0x5eed_0102, exact: false },
  {
    name: "PocketSphinx behind the VAD gate, as earshot serve runs it",
    create: () => new VadGatedEngine(new PocketSphinxEngine({ workers: 2, decoderArgs: FAST_DECODER_ARGS })),
    seed: 0x5eed_0103,
    exact: false,
  },
];

for (const { name, create, seed, exact } of ENGINES) {
  describe(`security: every drop releases the decoder (${name})`, () => {
    let server: EarshotServer;
    let port: number;
    let url: string;

    before(async () => {
      server = createServer({ engine: create(), apiKeys: [KEY], holdDecoderMs: 0 });
      ({ port, url } = await server.listen({ host: "127.0.0.1", port: 0 }));
      await server.ready;
    });

    after(() => server.close());

    it(`${MIN_CUTS}+ cuts, each resumed in a fresh decoder: every final once, nothing lost`, {
      timeout: 120_000,
    }, async (t) => {
      const reference = await uninterruptedRun(url, KEY, SPEECH);
      const { run, result, counts } = await chaosRun({
        serverPort: port,
        apiKey: KEY,
        seed,
        speech: SPEECH,
        speed: SPEED,
        chaos: { cutEveryMs: [300, 900], delayMs: [0, 10] },
        minCuts: MIN_CUTS,
        heartbeatTimeoutMs: 5000,
      });
      const released = sample(await scrape(url), 'earshot_decoders_released_total{reason="hold_expired"}');
      t.diagnostic(`${counts.cuts} cuts, ${reopenings(run).length} resumes, ${released} decoders released`);
      t.diagnostic(`reference: ${transcriptText(reference.finals)}`);
      t.diagnostic(`with cuts: ${transcriptText(run.finals)}`);
      assert.equal(result.code, 1000);
      assert.equal(result.lostMs, 0);
      assertExactlyOnce(run);
      assert.equal(run.sessions.length, 1, "one session throughout: every reconnection resumed it");
      assert.ok(reopenings(run).every((s) => s.resumed === true));
      assert.ok(released >= MIN_CUTS / 2, `only ${released} decoders released`);
      assert.deepEqual(
        run.errors.map((e) => e.code),
        [],
      );
      if (exact) {
        assert.deepEqual(summary(run.finals), summary(reference.finals), "segment ids, spans, word times");
      } else {
        // Re-decoding from a final's end in a fresh decoder (its channel estimate starts over) may
        // settle a word differently (seen: 4 of 26); but no stretch of speech may go missing.
        const words = (text: string) => text.split(" ").filter(Boolean);
        const referenceWords = words(transcriptText(reference.finals)).length;
        const heard = words(transcriptText(run.finals)).length;
        const edits = wordEdits(words(transcriptText(reference.finals)), words(transcriptText(run.finals)));
        t.diagnostic(`${edits} word edits, ${heard} words against ${referenceWords} in the reference`);
        assert.ok(edits <= Math.ceil(referenceWords * 0.3), `${edits} edits of ${referenceWords} words`);
        assert.ok(Math.abs(heard - referenceWords) <= 3, `${heard} words against ${referenceWords}`);
      }
    });
  });
}
