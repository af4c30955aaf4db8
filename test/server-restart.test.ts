/**
 * Issue 4's proof for a crashed server: a real `earshot serve --engine test` process is killed with
 * SIGKILL mid-stream (no goodbye, no flushed finals), twice, and restarted on the same port each
 * time. The SDK recovers by itself: its resume is answered `session_not_found`, it starts a new
 * session at the end of its last final and replays the audio after it. The TestEngine names words
 * by their start time, so the finals must equal an uninterrupted run's exactly; no audio is lost.
 *
 * Issue 15 item 3, the same with the engine `earshot serve` ships (VAD gate + PocketSphinx), whose
 * words depend on everything decoded before: the SDK starts the new session from the server's last
 * `checkpoint` (`resume_state`), and the finals equal the uninterrupted run's word for word and
 * time for time, after a kill mid-utterance and one between utterances.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type EarshotClientOptions, nodeTransport } from "@earshot/client";
import { loadEvalSet, loadPcm, mulberry32 } from "@earshot/test-support";
import { waitUntil } from "./helpers/http-probe.js";
import { assertExactlyOnce, reopenings, sendPaced, startRun, summary, transcriptText } from "./helpers/sdk-run.js";
import { kill9, killAllServers, type ServeProcess, serveEngine, serveTestEngine } from "./helpers/serve-process.js";
import { bursts } from "./helpers/signals.js";
import { SIX_CLIPS, speechStream } from "./helpers/speech.js";

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

/**
 * Waits for the client to be on the restarted server (its `kills + 1`-th session): each kill must
 * find it there, or on a slow machine two kills fall into one outage and only one new session is seen.
 */
function onRestartedServer(
  run: { readonly sessions: readonly unknown[] },
  kills: number,
  timeoutMs: number,
): Promise<void> {
  return waitUntil(() => run.sessions.length === kills + 1, "the client to reopen on the restarted server", timeoutMs);
}

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
        await onRestartedServer(run, kills, 20_000);
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

const CLIPS = SIX_CLIPS;
const PAUSE_MS = 900;

describe("server with the shipped engine killed with SIGKILL", () => {
  it("the client continues from the last checkpoint on the restarted server: the same words and times", {
    timeout: 240_000,
  }, async (t) => {
    const serve = (port: number): Promise<ServeProcess> =>
      serveEngine("pocketsphinx", port, KEY, { args: ["--no-demo"] });
    const speech = speechStream(CLIPS, PAUSE_MS);
    // Where each clip starts and ends, in 100 ms pieces.
    const set = loadEvalSet();
    const bounds: Array<{ start: number; end: number }> = [];
    let at = 0;
    for (const id of CLIPS) {
      const path = set.find((u) => u.id === id)?.path ?? "";
      const length = loadPcm(path).length;
      bounds.push({ start: at / 1600, end: (at + length) / 1600 });
      at += length + PAUSE_MS * 16;
    }
    const third = bounds[2];
    const fourth = bounds[3];
    assert.ok(third && fourth);
    // Mid-utterance (the middle of the long third clip), and 400 ms into the pause after the fourth.
    const killAt = new Set([Math.round((third.start + third.end) / 2), Math.ceil(fourth.end) + 4]);

    let served = await serve(0);
    const { port } = served;
    const reference = startRun(options(port));
    await reference.client.connect();
    await sendPaced(reference, speech, { speed: 4 });
    assert.equal((await reference.client.close()).code, 1000);
    assert.ok(reference.finals.length >= CLIPS.length, `${reference.finals.length} finals`);

    const resumeStates: string[] = [];
    const checkpointsSeen: string[] = [];
    const run = startRun({
      ...options(port),
      transport: (request, handlers) => {
        const transport = nodeTransport(request, {
          ...handlers,
          message(data) {
            if (typeof data === "string" && data.includes('"checkpoint"')) {
              const m = JSON.parse(data);
              if (m.type === "checkpoint") {
                checkpointsSeen.push(`${m.sample}/${m.last_segment_id}@${run.sessions.length}`);
              }
            }
            handlers.message(data);
          },
        });
        const send = transport.send.bind(transport);
        transport.send = (data) => {
          if (typeof data === "string" && data.includes('"resume_state"')) resumeStates.push(data);
          send(data);
        };
        return transport;
      },
    });
    await run.client.connect();
    let restarting: Promise<void> = Promise.resolve();
    let kills = 0;
    await sendPaced(run, speech, {
      speed: 4,
      before: async (i) => {
        if (!killAt.has(i)) return;
        await restarting;
        await onRestartedServer(run, kills, 60_000);
        // And to get a checkpoint of this session, so each new session continues a different one.
        await waitUntil(
          () => checkpointsSeen.some((seen) => seen.endsWith(`@${kills + 1}`)),
          "a checkpoint of the current session",
          60_000,
        );
        await kill9(served);
        kills += 1;
        restarting = serve(port).then((next) => {
          served = next;
        });
      },
    });
    await restarting;
    const result = await run.client.close();
    await kill9(served);
    const starts = [...new Set(resumeStates)].map((m) => JSON.parse(m).config.start_sample);
    t.diagnostic(
      `${kills} kills at pieces ${[...killAt].join(", ")}, ${run.sessions.length} sessions, continued at samples ${starts.join(", ")}`,
    );
    const confidences = (finals: typeof run.finals) => finals.flatMap((f) => f.words?.map((w) => w.confidence) ?? []);
    const reconfident = confidences(run.finals).filter((c, i) => c !== confidences(reference.finals)[i]).length;
    t.diagnostic(`${reconfident} word confidences differ from the uninterrupted run's`);

    assert.equal(kills, 2);
    assert.equal(result.code, 1000);
    assert.equal(result.lostMs, 0);
    assertExactlyOnce(run);
    assert.equal(run.sessions.length, 3);
    // Attempts the restarting server refused (engine still loading) send it again: two distinct ones.
    assert.equal(new Set(resumeStates).size, 2, "each new session continued a checkpoint");
    assert.equal(transcriptText(run.finals), transcriptText(reference.finals));
    // Words and times (`summary` leaves confidences out: they may differ slightly in the first
    // utterance after a resume; docs/design/decoder-state.md, "Continuing a stream in another server").
    assert.deepEqual(summary(run.finals), summary(reference.finals));
    assert.deepEqual(
      run.errors.map((e) => e.code),
      [],
    );
  });
});
