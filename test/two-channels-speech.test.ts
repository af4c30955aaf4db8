/**
 * Two channels on one connection with real speech (eval clips) and the engine `earshot serve`
 * ships (PocketSphinx with FAST_DECODER_ARGS behind the VAD gate): a stereo stream made of two
 * different speakers' clips must give, on each channel, exactly the finals (words, segment ids,
 * times) the one-channel run of that channel's audio gives: as 16 kHz PCM16 (interleaved sample by
 * sample) and as 8 kHz μ-law (byte by byte, the eval set's sox-made telephone copies).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { interleavePcm } from "@earshot/audio";
import { FAST_DECODER_ARGS, PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { createServer, type EarshotServer } from "@earshot/server";
import { VadGatedEngine } from "@earshot/vad";
import { toBytes } from "./helpers/signals.js";
import { mulawSpeech, speechStream } from "./helpers/speech.js";
import { type Received, WireClient } from "./helpers/ws-client.js";

const KEY = "two-channel-speech-key";
const LEFT = ["ps-goforward", "ps-cards-005", "ls-1089-134691-0000"];
const RIGHT = ["ps-librivox-0880", "ps-cards-002"];
const PAUSE_MS = 800;
const MULAW_SILENCE = 0xff;

/** One final as compared: words, id and times. */
const shape = (f: Received) => [f.segment_id, f.text, f.start_ms, f.end_ms, f.speech_final];

/** Both arrays padded (with `silence`) to the longer one's length: a channel that ends early falls silent. */
function padded<T extends Int16Array | Uint8Array>(a: T, b: T, silence: number): [T, T] {
  const length = Math.max(a.length, b.length);
  const pad = (x: T): T => {
    if (x.length === length) return x;
    const out = (x instanceof Int16Array ? new Int16Array(length) : new Uint8Array(length)) as T;
    out.fill(silence);
    out.set(x);
    return out;
  };
  return [pad(a), pad(b)];
}

/** Streams `bytes` in 100 ms messages (`messageBytes`), closes, and returns the finals. */
async function run(url: string, config: object, bytes: Uint8Array, messageBytes: number): Promise<Received[]> {
  const client = await WireClient.open(url, KEY);
  client.sendJson({ type: "config", config });
  const started = await client.waitFor((m) => m.type === "session_started" || m.type === "error");
  assert.equal(started.type, "session_started", JSON.stringify(started));
  for (let at = 0; at < bytes.length; at += messageBytes) client.sendBinary(bytes.subarray(at, at + messageBytes));
  client.sendJson({ type: "close_stream" });
  await client.waitFor((m) => m.type === "stream_closed", 120_000, "stream_closed");
  return client.finals();
}

describe("two channels with PocketSphinx (shipped settings): each channel as its own one-channel run", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    const engine = new VadGatedEngine(new PocketSphinxEngine({ workers: 2, decoderArgs: FAST_DECODER_ARGS }));
    server = createServer({ engine, apiKeys: [KEY] });
    ({ url } = await server.listen({ host: "127.0.0.1", port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("16 kHz PCM16, interleaved sample by sample", { timeout: 180_000 }, async () => {
    const [left, right] = padded(speechStream(LEFT, PAUSE_MS), speechStream(RIGHT, PAUSE_MS), 0);
    const stereo = await run(url, { channels: 2 }, toBytes(interleavePcm([left, right])), 3200 * 2);
    const mono = await Promise.all([left, right].map((pcm) => run(url, {}, toBytes(pcm), 3200)));
    for (const channel of [0, 1]) {
      const own = stereo.filter((f) => f.channel === channel);
      const reference = mono[channel] ?? [];
      assert.ok(reference.length >= 2, `channel ${channel}: ${reference.length} finals in the one-channel run`);
      assert.deepEqual(own.map(shape), reference.map(shape), `channel ${channel}`);
    }
    assert.equal(stereo.length, (mono[0]?.length ?? 0) + (mono[1]?.length ?? 0), "every final carries its channel");
  });

  it("8 kHz μ-law, interleaved byte by byte", { timeout: 180_000 }, async () => {
    const [left, right] = padded(mulawSpeech(LEFT, PAUSE_MS), mulawSpeech(RIGHT, PAUSE_MS), MULAW_SILENCE);
    const stereo = new Uint8Array(left.length * 2);
    for (let i = 0; i < left.length; i++) {
      stereo[2 * i] = left[i] as number;
      stereo[2 * i + 1] = right[i] as number;
    }
    const config = { encoding: "mulaw", sample_rate: 8000 };
    const finals = await run(url, { ...config, channels: 2 }, stereo, 1600);
    const mono = await Promise.all([left, right].map((bytes) => run(url, config, bytes, 800)));
    for (const channel of [0, 1]) {
      const reference = mono[channel] ?? [];
      assert.ok(reference.length >= 2, `channel ${channel}: ${reference.length} finals in the one-channel run`);
      assert.deepEqual(
        finals.filter((f) => f.channel === channel).map(shape),
        reference.map(shape),
        `channel ${channel}`,
      );
    }
  });
});
