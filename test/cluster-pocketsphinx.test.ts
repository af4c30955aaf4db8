/**
 * Words through the cluster: two `earshot serve --engine pocketsphinx --redis` nodes behind a real
 * HAProxy running (a copy of) the shipped config, with a real Redis. Eval speech streamed through
 * HAProxy comes back as the reference's words, on whichever node it landed.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { loadEvalSet, normalizeWords, wordEdits } from "@earshot/test-support";
import { type HaproxyProcess, startHaproxy } from "./helpers/haproxy.js";
import { waitUntil } from "./helpers/http-probe.js";
import { type RedisProcess, startRedis } from "./helpers/redis-server.js";
import { killAllServers, type ServeProcess, serveEngine } from "./helpers/serve-process.js";
import { speechStream } from "./helpers/speech.js";
import { transcribeStream } from "./helpers/transcribe-stream.js";

const KEY = "cluster-ps-key";
const CLIPS = ["ps-goforward", "ps-librivox-0880"];
/** Share of the reference words a stream must get right (1 − edits / words); measured 0.83 through HAProxy. */
const MIN_AGREEMENT = 0.7;

function reference(ids: readonly string[]): string[] {
  const set = loadEvalSet();
  return normalizeWords(ids.map((id) => set.find((u) => u.id === id)?.text ?? "").join(" "));
}

describe("PocketSphinx nodes behind HAProxy", () => {
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
    for (const node of nodes) {
      await waitUntil(async () => (await fetch(`${node.url}/readyz`)).ok, "the engine is ready", 30_000);
    }
    haproxy = await startHaproxy(nodes.map((node) => `127.0.0.1:${node.port}`));
  });
  after(async () => {
    await haproxy?.stop();
    killAllServers();
    await redis?.dispose();
  });

  it("transcribes eval speech streamed through HAProxy, on both nodes", async () => {
    const pcm = speechStream(CLIPS, 800);
    const expected = reference(CLIPS);
    const runs = await Promise.all([0, 1].map(() => transcribeStream(haproxy.url, KEY, pcm, { language: "en" })));
    for (const finals of runs) {
      const heard = normalizeWords(finals.join(" "));
      const agreement = 1 - wordEdits(expected, heard) / expected.length;
      assert.ok(agreement >= MIN_AGREEMENT, `heard "${heard.join(" ")}" for "${expected.join(" ")}"`);
    }
    // leastconn: the two streams at once went to the two nodes.
    for (const node of nodes) {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      assert.match(text, /earshot_audio_received_seconds_total [1-9]/, node.url);
    }
  });
});
