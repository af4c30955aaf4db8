/**
 * Issue 18 part 3 with the engine `earshot serve` ships (VAD gate + PocketSphinx), whose words
 * depend on everything decoded before: an SDK stream of eval speech through HAProxy is on one of
 * two `--redis` nodes when that node gets SIGTERM mid-utterance. The node lets the utterance end
 * and sends its final and the checkpoint after it before closing 1012 `draining`; the SDK goes on
 * on the other node from that checkpoint, and the finals equal an uninterrupted run's word for word
 * and time for time.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { type EarshotClientOptions, nodeTransport, type TransportFactory } from "@earshot/client";
import { loadEvalSet, loadPcm, mulberry32 } from "@earshot/test-support";
import { type HaproxyProcess, startHaproxy } from "./helpers/haproxy.js";
import { type RedisProcess, startRedis } from "./helpers/redis-server.js";
import { assertExactlyOnce, sendPaced, startRun, summary, transcriptText } from "./helpers/sdk-run.js";
import { killAllServers, type ServeProcess, serveEngine } from "./helpers/serve-process.js";
import { SIX_CLIPS, speechStream } from "./helpers/speech.js";

const KEY = "drain-ps-key";
const CLIPS = SIX_CLIPS.slice(0, 4);
const PAUSE_MS = 900;
const SPEED = 4;

const options = (url: string, transport: TransportFactory = nodeTransport): EarshotClientOptions => ({
  url,
  apiKey: KEY,
  config: { language: "en", timestamp_granularity: "word" },
  reconnect: { baseDelayMs: 50, maxDelayMs: 300, random: mulberry32(0x5eed_0183) },
  heartbeatTimeoutMs: 3000,
  closeTimeoutMs: 60_000,
  transport,
});

/** The node that holds the one stream open now. */
async function holder(nodes: readonly ServeProcess[]): Promise<ServeProcess> {
  for (const node of nodes) {
    if (/^earshot_active_streams 1$/m.test(await (await fetch(`${node.url}/metrics`)).text())) return node;
  }
  throw new Error("no node holds the stream");
}

describe("draining a PocketSphinx node of two behind HAProxy", () => {
  let redis: RedisProcess;
  let nodes: ServeProcess[];
  let haproxy: HaproxyProcess;

  before(async () => {
    redis = await startRedis();
    const args = ["--redis", redis.url, "--decoders", "1", "--max-decoders", "2", "--no-demo"];
    nodes = await Promise.all([
      serveEngine("pocketsphinx", 0, KEY, { args }),
      serveEngine("pocketsphinx", 0, KEY, { args }),
    ]);
    haproxy = await startHaproxy(nodes.map((node) => `127.0.0.1:${node.port}`));
  });
  after(async () => {
    await haproxy?.stop();
    killAllServers();
    await redis?.dispose();
  });

  it("the stream continues on the other node from the checkpoint after its final: the same words and times", {
    timeout: 240_000,
  }, async (t) => {
    const speech = speechStream(CLIPS, PAUSE_MS);
    // The middle of the third clip, in 100 ms pieces.
    const set = loadEvalSet();
    let at = 0;
    const bounds = CLIPS.map((id) => {
      const length = loadPcm(set.find((u) => u.id === id)?.path ?? "").length;
      const span = { start: at / 1600, end: (at + length) / 1600 };
      at += length + PAUSE_MS * 16;
      return span;
    });
    const third = bounds[2];
    assert.ok(third);
    const drainAt = Math.round((third.start + third.end) / 2);

    const reference = startRun(options(haproxy.url));
    await reference.client.connect();
    await sendPaced(reference, speech, { speed: SPEED });
    assert.equal((await reference.client.close()).code, 1000);
    assert.ok(reference.finals.length >= CLIPS.length, `${reference.finals.length} finals`);

    // What the client sends: a config with resume_state is a session continued from a checkpoint.
    const continued: number[] = [];
    const messages: string[] = [];
    const run = startRun(
      options(haproxy.url, (request, handlers) => {
        const transport = nodeTransport(request, {
          ...handlers,
          message(data) {
            if (typeof data === "string") messages.push(data);
            handlers.message(data);
          },
        });
        const send = transport.send.bind(transport);
        transport.send = (data) => {
          if (typeof data === "string" && data.includes('"resume_state"')) {
            continued.push(JSON.parse(data).config.start_sample as number);
          }
          send(data);
        };
        return transport;
      }),
    );
    await run.client.connect();
    let drained: ServeProcess | undefined;
    await sendPaced(run, speech, {
      speed: SPEED,
      before: async (i) => {
        if (i !== drainAt) return;
        drained = await holder(nodes);
        drained.process.kill("SIGTERM");
      },
    });
    const result = await run.client.close();
    assert.ok(drained);
    const code = drained.process.exitCode ?? (await once(drained.process, "exit"))[0];
    assert.equal(code, 0);
    t.diagnostic(`${run.sessions.length} sessions, continued from checkpoints at samples ${continued.join(", ")}`);

    // On the drained node, the final and then its checkpoint came before the draining error.
    const kinds = messages.map((m) => JSON.parse(m) as { type: string; is_final?: boolean; code?: string });
    const closedAt = kinds.findIndex((m) => m.type === "error" && m.code === "draining");
    assert.ok(closedAt > 1, "closed with draining");
    assert.equal(kinds.slice(0, closedAt).findLast((m) => m.type !== "ack")?.type, "checkpoint");

    assert.equal(result.code, 1000);
    assert.equal(result.lostMs, 0);
    assertExactlyOnce(run);
    assert.equal(transcriptText(run.finals), transcriptText(reference.finals));
    assert.deepEqual(summary(run.finals), summary(reference.finals));
    assert.deepEqual(
      run.errors.map((e) => e.code),
      [],
    );
  });
});
