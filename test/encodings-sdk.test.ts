/**
 * Encodings through the SDK (`encoding` option) against real servers: real speech through
 * PocketSphinx gives about the words of pcm_s16le with every encoding (G.711 keeps only the 8 kHz
 * telephone band and Opus is lossy, so the words may differ a little), and with the test engine a
 * stream whose connection is cut several times resumes and gives the same finals as without cuts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EarshotClient, nodeTransport, type Transport, type TransportFactory } from "@earshot/client";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { TestEngine } from "@earshot/engines";
import { ENCODINGS, type Encoding, type TranscriptMessage } from "@earshot/protocol";
import { createServer, type EarshotServer } from "@earshot/server";
import { normalizeWords, wordEdits } from "@earshot/test-support";
import { bursts } from "./helpers/signals.js";
import { speechStream } from "./helpers/speech.js";

const KEY = "encodings-sdk-key";
const PIECE = 1600;
/** 4× faster than real time: quick, and PocketSphinx keeps up on a busy machine. */
const REAL_SPEECH = { pace: 25 };
/**
 * 1 − word edits / words, against pcm_s16le's words. G.711 keeps only the telephone band (below
 * 4 kHz) and PocketSphinx's en-us model is a wideband one: about half the words survive here
 * (0.54 measured); bench:encodings measures the WER on the whole eval set. Opus at 20 kbit/s keeps
 * the wideband spectrum.
 */
const MIN_AGREEMENT: Record<Encoding, number> = { pcm_s16le: 1, mulaw: 0.45, alaw: 0.45, opus: 0.75 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Run {
  readonly finals: TranscriptMessage[];
  readonly lostMs: number;
  readonly resumed: boolean[];
}

/**
 * Streams `pcm` with `encoding`, 100 ms a piece every `pace` ms; `cuts` = piece indexes before which
 * the socket drops.
 */
async function run(
  url: string,
  encoding: Encoding,
  pcm: Int16Array,
  options: { readonly pace: number; readonly cuts?: readonly number[] },
): Promise<Run> {
  const { pace, cuts = [] } = options;
  let current: Transport | undefined;
  const transport: TransportFactory = (request, handlers) => {
    current = nodeTransport(request, handlers);
    return current;
  };
  const client = new EarshotClient({
    url,
    apiKey: KEY,
    encoding,
    transport,
    reconnect: { baseDelayMs: 20, maxDelayMs: 200 },
    closeTimeoutMs: 60_000,
  });
  const finals: TranscriptMessage[] = [];
  const resumed: boolean[] = [];
  client.on("final", (final) => finals.push(final));
  client.on("state", (s) => {
    if (s.from === "reconnecting" && s.to === "open") resumed.push(s.resumed === true);
  });
  await client.connect();
  for (let i = 0; i * PIECE < pcm.length; i++) {
    if (cuts.includes(i)) current?.terminate?.();
    if (!client.send(pcm.subarray(i * PIECE, (i + 1) * PIECE))) {
      await new Promise<void>((resolve) => client.once("drain", () => resolve()));
    }
    await sleep(pace);
  }
  const result = await client.close();
  assert.equal(result.code, 1000);
  return { finals, lostMs: result.lostMs, resumed };
}

const words = (finals: readonly TranscriptMessage[]) => normalizeWords(finals.map((f) => f.text).join(" "));

describe("encodings with PocketSphinx (real speech)", () => {
  let server: EarshotServer;
  let url: string;
  const speech = speechStream(["ps-goforward", "ls-1089-134691-0000", "ps-librivox-0880", "ps-forever-input2"], 800);
  let reference: string[];

  before(async () => {
    server = createServer({ engine: new PocketSphinxEngine(), apiKeys: [KEY] });
    ({ url } = await server.listen({ host: "127.0.0.1", port: 0 }));
    await server.ready;
    reference = words((await run(url, "pcm_s16le", speech, REAL_SPEECH)).finals);
    assert.ok(reference.length >= 15, `pcm_s16le heard ${reference.join(" ")}`);
  });

  after(() => server.close());

  for (const encoding of ENCODINGS.filter((e) => e !== "pcm_s16le")) {
    it(`${encoding}: the words are close to pcm_s16le's`, async (t) => {
      const heard = words((await run(url, encoding, speech, REAL_SPEECH)).finals);
      const agreement = 1 - wordEdits(reference, heard) / reference.length;
      t.diagnostic(`${encoding}: ${heard.join(" ")} (agreement ${agreement.toFixed(2)})`);
      assert.ok(agreement >= MIN_AGREEMENT[encoding], `${encoding}: ${heard.join(" ")} vs ${reference.join(" ")}`);
    });
  }
});

describe("encodings through the SDK, with dropped connections (test engine)", () => {
  let server: EarshotServer;
  let url: string;
  const signal = bursts([
    { toneMs: 1000, silenceMs: 500 },
    { toneMs: 600, silenceMs: 700 },
    { toneMs: 1400, silenceMs: 800 },
  ]);
  const summary = (r: Run) => r.finals.map((f) => [f.segment_id, f.text, f.start_ms, f.end_ms]);

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    ({ url } = await server.listen({ host: "127.0.0.1", port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  for (const encoding of ENCODINGS) {
    it(`${encoding}: resumes after each cut and gives the finals of an unbroken stream`, async () => {
      const unbroken = await run(url, encoding, signal, { pace: 10 });
      assert.deepEqual(
        unbroken.finals.map((f) => f.text.split(" ").length),
        [5, 3, 7],
      );
      const cut = await run(url, encoding, signal, { pace: 10, cuts: [4, 13, 27, 40] });
      assert.ok(cut.resumed.length >= 3 && cut.resumed.every(Boolean), `resumed: ${cut.resumed}`);
      assert.equal(cut.lostMs, 0);
      assert.deepEqual(summary(cut), summary(unbroken));
    });
  }
});
