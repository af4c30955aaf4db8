/**
 * Issue 13's attacks on a real `earshot serve` with its default PocketSphinx engine, next to a
 * healthy tenant streaming real speech:
 *
 * - idle sockets: connections of one key that never send `config` (before the fix, ~10 of them
 *   made admission refuse every other tenant, and `/readyz` turned 503);
 * - churn: 64 × (connect, config, 0.5 s of speech, drop) from one key (before the fix, each dropped
 *   session kept its ~100 MB decoder for its 30 s grace: RSS went from 422 MB to 6.1 GB in 22 s).
 *   The server's RSS (its whole process, worker threads included) must stay within the budget:
 *   decoders of the streams open at a time, the key's waiting sessions that may keep theirs
 *   (`maxWaitingDecodersPerKey`, 4) and the workers' idle ones.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { DEFAULT_MAX_UNCONFIGURED_PER_KEY } from "@earshot/server";
import { loadPcm } from "@earshot/test-support";
import { sample, scrape } from "../helpers/prometheus.js";
import { killAllServers, type ServeProcess, serveEngine } from "../helpers/serve-process.js";
import { toBytes } from "../helpers/signals.js";
import { speechStream } from "../helpers/speech.js";
import { WireClient } from "../helpers/ws-client.js";

const ATTACKER = "churn-attacker";
const TENANT = "churn-tenant";
const CONFIG = { language: "en", encoding: "pcm_s16le", sample_rate: 16000 };
const CHURN_STREAMS = 64;
/** More than a key may have waiting for `config`: the rest get 429. */
const IDLE_SOCKETS = DEFAULT_MAX_UNCONFIGURED_PER_KEY + 8;
const CHURN_CONCURRENCY = 4;
/** What the churn may add to the server's RSS; before the fix it added 5.7 GB. */
const CHURN_BUDGET_BYTES = 1.5 * 1024 ** 3;
/** What may stay once no decoder is held: the workers' idle decoders (2 each, ~100 MB) and heap growth. */
const SETTLED_BUDGET_BYTES = 500 * 1024 ** 2;
const HALF_SECOND = loadPcm(new URL("../../fixtures/eval/en-16k/ps-goforward.wav", import.meta.url).pathname).subarray(
  0,
  8000,
);

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

/** The tenant: real speech, paced like a microphone, through its own connection; resolves with the transcript. */
async function tenantStream(url: string): Promise<string> {
  const speech = speechStream(["ps-goforward", "ls-1089-134691-0000"], 1000);
  const client = await WireClient.open(url, TENANT);
  try {
    client.sendJson({ type: "config", config: CONFIG });
    await client.waitFor((m) => m.type === "session_started", 20_000);
    const started = Date.now();
    for (let at = 0, i = 0; at < speech.length; at += 1600, i++) {
      client.sendBinary(toBytes(speech.subarray(at, at + 1600)));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (i + 1) * 100 - Date.now())));
    }
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed", 30_000);
    return client
      .finals()
      .map((m) => m.text)
      .filter(Boolean)
      .join(" ");
  } finally {
    // A failed wait must not leave the socket open: the test process would never exit.
    client.ws.terminate();
  }
}

describe("security: attacks on earshot serve with PocketSphinx", () => {
  let served: ServeProcess;

  before(async () => {
    served = await serveEngine("pocketsphinx", 0, ATTACKER, { args: ["--api-key", TENANT, "--no-demo"] });
  });

  after(() => killAllServers());

  it(`${IDLE_SOCKETS} idle sockets from one key: /readyz stays ready, the tenant streams, the idle ones time out`, {
    timeout: 60_000,
  }, async () => {
    const attempts = await Promise.allSettled(
      Array.from({ length: IDLE_SOCKETS }, () => WireClient.open(served.url, ATTACKER)),
    );
    const idle = attempts.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
    try {
      assert.equal(idle.length, DEFAULT_MAX_UNCONFIGURED_PER_KEY);
      assert.equal((await fetch(`${served.url}/readyz`)).status, 200);
      const transcript = await tenantStream(served.url);
      assert.match(transcript, /forward/);
      assert.match(transcript, /wait no longer/);
      const closed = await Promise.all(idle.map((client) => client.closed));
      assert.ok(closed.every((c) => c.code === 1008));
    } finally {
      for (const client of idle) client.ws.terminate();
    }
  });

  it(`${CHURN_STREAMS} × (connect, config, 0.5 s of speech, drop) from one key: RSS within budget, the tenant unharmed`, {
    timeout: 180_000,
  }, async (t) => {
    const pid = served.process.pid as number;
    const baseline = rssBytes(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(pid));
    }, 50);
    t.after(() => clearInterval(sampler));
    const tenant = tenantStream(served.url);
    let next = 0;
    let refused = 0;
    const churner = async () => {
      while (next < CHURN_STREAMS) {
        next += 1;
        let client: WireClient;
        try {
          client = await WireClient.open(served.url, ATTACKER);
        } catch {
          refused += 1;
          continue;
        }
        client.sendJson({ type: "config", config: CONFIG });
        const answer = await client
          .waitFor((m) => m.type === "session_started" || m.type === "error", 20_000)
          .catch(() => undefined);
        if (answer?.type === "session_started") {
          for (let at = 0; at < HALF_SECOND.length; at += 1600)
            client.sendBinary(toBytes(HALF_SECOND.subarray(at, at + 1600)));
          await new Promise((resolve) => setTimeout(resolve, 500));
        } else refused += 1;
        client.ws.terminate();
        await client.closed;
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: CHURN_CONCURRENCY }, churner));
    const churnMs = Date.now() - started;
    const transcript = await tenant;
    clearInterval(sampler);
    // Dropped sessions give their decoders back within the hold time (5 s); the workers keep at
    // most 2 idle ones each, and freed decoders' memory goes back to the OS (before the fix, RSS
    // stayed at 3.9 GB once every session was gone).
    let settled = rssBytes(pid);
    for (let waited = 0; waited < 15_000; waited += 250) {
      const metrics = await scrape(served.url);
      if (sample(metrics, "earshot_held_streams") === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    settled = rssBytes(pid);
    const metrics = await scrape(served.url);
    t.diagnostic(
      `churn ${churnMs} ms, ${refused} refused; RSS ${(baseline / 2 ** 20).toFixed(0)} MB → peak ${(peak / 2 ** 20).toFixed(0)} MB → ${(settled / 2 ** 20).toFixed(0)} MB once no decoder is held; ` +
        `waiting ${sample(metrics, "earshot_sessions_waiting_for_resume")}, with decoders ${sample(metrics, "earshot_waiting_decoders")}; ` +
        `released: key_budget ${sample(metrics, 'earshot_decoders_released_total{reason="key_budget"}')}, ` +
        `hold_expired ${sample(metrics, 'earshot_decoders_released_total{reason="hold_expired"}')}`,
    );
    assert.ok(peak - baseline <= CHURN_BUDGET_BYTES, `RSS grew by ${((peak - baseline) / 2 ** 20).toFixed(0)} MB`);
    assert.equal(sample(metrics, "earshot_held_streams"), 0, "every dropped session gave its decoder back");
    assert.ok(
      settled - baseline <= SETTLED_BUDGET_BYTES,
      `RSS stayed ${((settled - baseline) / 2 ** 20).toFixed(0)} MB up`,
    );
    assert.match(transcript, /forward/);
    assert.match(transcript, /wait no longer/);
  });
});
