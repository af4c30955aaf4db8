/**
 * Issue 4's proof for a crashed server: a real `earshot serve --engine test` process is killed with
 * SIGKILL mid-stream (no goodbye, no flushed finals), twice, and restarted on the same port each
 * time. The SDK recovers by itself: its resume is answered `session_not_found`, it starts a new
 * session at the end of its last final and replays the audio after it. The TestEngine names words
 * by their start time, so the finals must equal an uninterrupted run's exactly; no audio is lost.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { EarshotClientOptions } from "@earshot/client";
import { mulberry32 } from "@earshot/test-support";
import { waitUntil } from "./helpers/http-probe.js";
import { assertExactlyOnce, reopenings, sendPaced, startRun, summary, transcriptText } from "./helpers/sdk-run.js";
import { kill9, killAllServers, serveTestEngine } from "./helpers/serve-process.js";
import { bursts } from "./helpers/signals.js";

const KEY = "restart-key";
/** Twelve utterances (200 ms to 1.7 s of tone) with pauses: 19.8 s. */
const SIGNAL = bursts(
  [900, 1300, 400, 1700, 700, 1100, 200, 1500, 600, 1000, 1200, 800].map((toneMs, i) => ({
    toneMs,
    silenceMs: 400 + (i % 3) * 300,
  })),
);
const SPEED = 4;

after(killAllServers);

const options = (port: number): EarshotClientOptions => ({
  url: `http://127.0.0.1:${port}`,
  apiKey: KEY,
  config: { language: "en", timestamp_granularity: "word" },
  reconnect: { baseDelayMs: 20, maxDelayMs: 200, random: mulberry32(0x5eed_0003) },
  heartbeatTimeoutMs: 1000,
  closeTimeoutMs: 30_000,
});

describe("server killed with SIGKILL mid-stream", () => {
  it("the client recovers by itself on the restarted server: the same finals, nothing lost", {
    timeout: 60_000,
  }, async (t) => {
    let served = await serveTestEngine(0, KEY);
    const { port } = served;

    const reference = startRun(options(port));
    await reference.client.connect();
    await sendPaced(reference, SIGNAL, { speed: Number.POSITIVE_INFINITY });
    assert.equal((await reference.client.close()).code, 1000);
    assert.equal(reference.finals.length, 12);

    const run = startRun(options(port));
    await run.client.connect();
    // Mid-utterance (the 5th tone runs 6.8–7.5 s), and just after the 10th tone (ends 15.7 s)
    // before its final (300 ms of silence later).
    const killAt = new Set([73, 158]);
    let restarting: Promise<void> = Promise.resolve();
    let downtimeMs = 0;
    let kills = 0;
    await sendPaced(run, SIGNAL, {
      speed: SPEED,
      before: async (i) => {
        if (!killAt.has(i)) return;
        await restarting;
        // Each kill must find the client on the restarted server, or on a slow machine two kills
        // fall into one outage and only one new session is seen.
        await waitUntil(
          () => run.sessions.length === kills + 1,
          "the client to reopen on the restarted server",
          20_000,
        );
        await kill9(served);
        kills += 1;
        const downAt = Date.now();
        // Audio keeps coming while no server runs (sending goes on): the replay buffer keeps it.
        restarting = serveTestEngine(port, KEY).then((next) => {
          served = next;
          downtimeMs += Date.now() - downAt;
        });
      },
    });
    await restarting;
    const result = await run.client.close();
    await kill9(served);
    t.diagnostic(
      `${kills} kills, ${downtimeMs} ms without a server, ${run.sessions.length} sessions, ` +
        `${run.states.filter((s) => s.to === "reconnecting").length} reconnect attempts`,
    );

    assert.equal(kills, 2);
    assert.equal(result.code, 1000);
    assert.equal(result.lostMs, 0);
    assertExactlyOnce(run);
    assert.equal(transcriptText(run.finals), transcriptText(reference.finals));
    assert.deepEqual(summary(run.finals), summary(reference.finals));
    // Each restart lost the session: a new one started where the last final ended.
    assert.equal(run.sessions.length, 3);
    const reopened = reopenings(run);
    assert.equal(reopened.length, 2);
    assert.ok(reopened.every((s) => s.resumed === false));
    assert.deepEqual(
      run.errors.map((e) => e.code),
      [],
    );
  });
});
