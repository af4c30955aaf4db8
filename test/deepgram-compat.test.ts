/**
 * Deepgram's live `/v1/listen` driven by Deepgram's own SDK (`@deepgram/sdk`, pinned) and by a raw
 * WebSocket (for what the SDK hides: handshake answers, subprotocols, close codes), against a real
 * server with the PocketSphinx engine: encodings and rates, multichannel and mixdown, interim
 * results, numerals, SpeechStarted and UtteranceEnd, Finalize, Metadata, auth and refusals.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { after, before, describe, it } from "node:test";
import { interleavePcm, Resampler } from "@earshot/audio";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { createServer, type EarshotServer } from "@earshot/server";
import { loadEvalSet, loadMulaw, loadPcm, loadTelephoneSet, normalizeWords } from "@earshot/test-support";
import { WebSocket } from "ws";
import { type DeepgramMessage, finalText, isResults, linear16, listenWithSdk, until } from "./helpers/deepgram-live.js";
import { viaEarshotProtocol } from "./helpers/earshot-wire.js";
import { sample, scrape } from "./helpers/prometheus.js";

const KEY = "deepgram-key";
const GO_FORWARD = "go forward ten meters";
const WAIT = "he could wait no longer";
const pcmOf = (id: string) => loadPcm(loadEvalSet().find((u) => u.id === id)?.path ?? "");

/** What a raw client saw: the handshake's answer, then messages and the close. */
interface RawRun {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
  readonly protocol: string;
  readonly messages: DeepgramMessage[];
  readonly close: { code: number; reason: string };
}

/** A raw WebSocket to `/v1/listen?query`; `drive` sends what the test wants once it is open. */
async function rawListen(
  url: string,
  query: string,
  options: { headers?: Record<string, string>; protocols?: string[] },
  drive: (ws: WebSocket, messages: readonly DeepgramMessage[]) => Promise<void> | void = () => {},
): Promise<RawRun> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/listen?${query}`, options.protocols ?? [], {
    headers: options.headers ?? {},
  });
  const messages: DeepgramMessage[] = [];
  ws.on("message", (data) => messages.push(JSON.parse(String(data)) as DeepgramMessage));
  ws.on("error", () => {});
  const opened = new Promise<{ status: number; headers: IncomingMessage["headers"]; body: string }>((resolve) => {
    ws.once("upgrade", (response) => resolve({ status: 101, headers: response.headers, body: "" }));
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
  });
  const handshake = await opened;
  if (handshake.status !== 101) {
    return { ...handshake, protocol: "", messages, close: { code: 0, reason: "" } };
  }
  const closed = once(ws, "close") as Promise<[number, Buffer]>;
  if (ws.readyState !== WebSocket.OPEN) await once(ws, "open");
  await drive(ws, messages);
  const [code, reason] = await closed;
  return { ...handshake, protocol: ws.protocol, messages, close: { code, reason: String(reason) } };
}

function resample(samples: Int16Array, outputRate: number): Int16Array {
  const resampler = new Resampler({ inputRate: 16_000, outputRate });
  const body = resampler.push(samples);
  const tail = resampler.flush();
  const out = new Int16Array(body.length + tail.length);
  out.set(body);
  out.set(tail, body.length);
  return out;
}

const words = (text: string) => normalizeWords(text).join(" ");

describe("Deepgram /v1/listen with @deepgram/sdk", { timeout: 180_000 }, () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new PocketSphinxEngine({ workers: 2 }), apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });
  after(() => server.close());

  it("transcribes linear16 at 16 kHz: Results with words, then Metadata, then close 1000", async () => {
    const audio = linear16(pcmOf("ps-goforward"));
    const run = await listenWithSdk(
      url,
      KEY,
      { model: "nova-3", encoding: "linear16", sample_rate: 16000, interim_results: true },
      audio,
      3200,
    );
    assert.equal(run.closeCode, 1000);
    assert.equal(words(finalText(run.messages)), GO_FORWARD);
    const results = run.messages.filter(isResults);
    assert.ok(
      results.some((m) => !m.is_final),
      "interim results",
    );
    const finals = results.filter((m) => m.is_final);
    for (const m of results) {
      assert.deepEqual(m.channel_index, [0, 1]);
      assert.equal(m.metadata.model_info.name, "nova-3");
      const alternative = m.channel.alternatives[0];
      assert.ok(alternative);
      for (const word of alternative.words) assert.ok(word.start >= m.start - 0.001 && word.end >= word.start);
    }
    assert.ok(finals.every((m) => m.duration > 0 && m.start >= 0));
    assert.ok(
      finals.some((m) => m.speech_final),
      "a final that ended at a pause",
    );
    const metadata = run.messages.at(-1);
    assert.equal(metadata?.type, "Metadata");
    assert.equal(metadata?.request_id, finals[0]?.metadata.request_id);
    assert.equal(metadata?.sha256, createHash("sha256").update(audio).digest("hex"));
    assert.equal(metadata?.channels, 1);
    assert.ok(Math.abs(Number(metadata?.duration) - audio.length / 32_000) < 0.05, `duration ${metadata?.duration}`);
  });

  it("sends finals only unless interim_results=true", async () => {
    const run = await listenWithSdk(
      url,
      KEY,
      { model: "nova-3", encoding: "linear16", sample_rate: 16000 },
      linear16(pcmOf("ps-goforward")),
      3200,
    );
    assert.equal(run.closeCode, 1000);
    const results = run.messages.filter(isResults);
    assert.ok(results.length > 0 && results.every((m) => m.is_final));
    assert.equal(words(finalText(run.messages)), GO_FORWARD);
  });

  it("applies numerals (and smart_format's numerals)", async () => {
    for (const flag of ["numerals", "smart_format"]) {
      const run = await listenWithSdk(
        url,
        KEY,
        { model: "nova-3", encoding: "linear16", sample_rate: 16000, [flag]: true },
        linear16(pcmOf("ps-goforward")),
        3200,
      );
      assert.equal(words(finalText(run.messages)), "go forward 10 meters", flag);
    }
  });

  it("resamples linear16 at 8 and 48 kHz, cut anywhere (odd-sized frames)", async () => {
    for (const rate of [8000, 48_000]) {
      const run = await listenWithSdk(
        url,
        KEY,
        { model: "nova-3", encoding: "linear16", sample_rate: rate },
        linear16(resample(pcmOf("ps-goforward"), rate)),
        3001,
      );
      assert.equal(run.closeCode, 1000);
      assert.equal(words(finalText(run.messages)), GO_FORWARD, `${rate} Hz`);
    }
  });

  it("takes mulaw at 8 kHz: the same words as earshot's own protocol gives", async () => {
    const path = loadTelephoneSet().find((u) => u.id === "ps-goforward")?.path ?? "";
    const audio = loadMulaw(path);
    const run = await listenWithSdk(url, KEY, { model: "nova-3", encoding: "mulaw", sample_rate: 8000 }, audio, 800);
    assert.equal(run.closeCode, 1000);
    const own = await viaEarshotProtocol(url, KEY, audio, "mulaw", 800);
    assert.ok(normalizeWords(own).length > 0);
    assert.equal(words(finalText(run.messages)), words(own));
  });

  it("multichannel=true: one transcript per channel, channel_index [i, 2]", async () => {
    const left = pcmOf("ps-goforward");
    const right = pcmOf("ls-1089-134691-0000");
    const length = Math.max(left.length, right.length);
    const pad = (samples: Int16Array) => {
      const out = new Int16Array(length);
      out.set(samples);
      return out;
    };
    const stereo = linear16(interleavePcm([pad(left), pad(right)]));
    const run = await listenWithSdk(
      url,
      KEY,
      { model: "nova-3", encoding: "linear16", sample_rate: 16000, channels: 2, multichannel: true },
      stereo,
      6402,
    );
    assert.equal(run.closeCode, 1000);
    assert.equal(words(finalText(run.messages, 0)), GO_FORWARD);
    assert.equal(words(finalText(run.messages, 1)), WAIT);
    for (const m of run.messages.filter(isResults)) assert.equal(m.channel_index[1], 2);
    assert.equal(run.messages.at(-1)?.channels, 2);
  });

  it("channels=2 without multichannel is mixed down to mono", async () => {
    const mono = pcmOf("ps-goforward");
    const stereo = linear16(interleavePcm([mono, mono]));
    const run = await listenWithSdk(
      url,
      KEY,
      { model: "nova-3", encoding: "linear16", sample_rate: 16000, channels: 2 },
      stereo,
      6400,
    );
    assert.equal(words(finalText(run.messages)), GO_FORWARD);
    for (const m of run.messages.filter(isResults)) assert.deepEqual(m.channel_index, [0, 1]);
  });

  it("vad_events and utterance_end_ms: SpeechStarted before the words, UtteranceEnd after them", async () => {
    const run = await listenWithSdk(
      url,
      KEY,
      { model: "nova-3", encoding: "linear16", sample_rate: 16000, vad_events: true, utterance_end_ms: 1000 },
      linear16(pcmOf("ps-goforward")),
      3200,
    );
    const types = run.messages.map((m) => m.type);
    const started = types.indexOf("SpeechStarted");
    assert.ok(started >= 0 && started < types.indexOf("Results"), types.join(","));
    const speech = run.messages[started];
    assert.deepEqual(speech?.channel, [0, 1]);
    assert.ok(typeof speech?.timestamp === "number");
    const end = run.messages.find((m) => m.type === "UtteranceEnd");
    assert.ok(end, types.join(","));
    assert.deepEqual(end.channel, [0, 1]);
    const lastFinal = run.messages.filter(isResults).findLast((m) => m.is_final);
    const lastWord = lastFinal?.channel.alternatives[0]?.words.at(-1);
    assert.equal(end.last_word_end, lastWord?.end);
  });

  it("Finalize: the final it forces says from_finalize", async () => {
    const pcm = linear16(pcmOf("ps-goforward"));
    // Cut mid-sentence: the words so far are finalized before the rest arrives.
    const cut = 1.2 * 32_000;
    const run = await rawListen(
      url,
      "encoding=linear16&sample_rate=16000&interim_results=true",
      { headers: { authorization: `Token ${KEY}` } },
      async (ws, messages) => {
        // Nothing is pending yet: this Finalize forces no final, and marks none.
        ws.send(JSON.stringify({ type: "Finalize" }));
        ws.send(pcm.subarray(0, cut));
        // Once the engine is hearing the words, so the final it forces is of some of them.
        await until(() => messages.some((m) => isResults(m) && !m.is_final), "an interim result");
        ws.send(JSON.stringify({ type: "Finalize" }));
        await until(() => messages.some((m) => isResults(m) && m.is_final), "the forced final");
        ws.send(pcm.subarray(cut));
        ws.send(JSON.stringify({ type: "CloseStream" }));
      },
    );
    assert.equal(run.close.code, 1000);
    const finals = run.messages.filter(isResults).filter((m) => m.is_final);
    assert.equal(finals[0]?.from_finalize, true);
    assert.equal(finals[0]?.speech_final, false);
    assert.ok(finals.length >= 2, "the rest of the words came as a later final");
    for (const later of finals.slice(1)) assert.equal(later.from_finalize, false);
  });

  it("authenticates with the subprotocols token, <key> (echoing token) and with a stream token as Bearer", async () => {
    const browser = await rawListen(url, "encoding=linear16&sample_rate=16000", { protocols: ["token", KEY] }, (ws) => {
      ws.send(JSON.stringify({ type: "CloseStream" }));
    });
    assert.equal(browser.status, 101);
    assert.equal(browser.protocol, "token");
    assert.ok(browser.headers["dg-request-id"]);
    assert.equal(browser.close.code, 1000);
    assert.equal(browser.messages.at(-1)?.type, "Metadata");

    const minted = await fetch(`${url}/v1/auth/token`, { method: "POST", headers: { authorization: `Bearer ${KEY}` } });
    const { token } = (await minted.json()) as { token: string };
    const bearer = await rawListen(
      url,
      "encoding=linear16&sample_rate=16000",
      { protocols: ["bearer", token] },
      (ws) => {
        ws.send(JSON.stringify({ type: "CloseStream" }));
      },
    );
    assert.equal(bearer.status, 101);
    assert.equal(bearer.protocol, "bearer");
  });

  it("refuses a wrong key with Deepgram's 401 answer", async () => {
    for (const options of [{ headers: { authorization: "Token nope" } }, { protocols: ["token", "nope"] }, {}]) {
      const run = await rawListen(url, "encoding=linear16&sample_rate=16000", options);
      assert.equal(run.status, 401);
      const body = JSON.parse(run.body) as { err_code: string; err_msg: string; request_id: string };
      assert.equal(body.err_code, "INVALID_AUTH");
      assert.equal(body.err_msg, "Invalid credentials.");
      assert.equal(run.headers["dg-request-id"], body.request_id);
      assert.equal(run.headers["dg-error"], body.err_msg);
    }
  });

  it("refuses what Deepgram would refuse with its 400 answer, and names ignored parameters", async () => {
    const refused: [string, string][] = [
      ["sample_rate=16000", "Bad Request"],
      ["encoding=flac&sample_rate=16000", "Bad Request"],
      ["encoding=linear16", "INVALID_QUERY_PARAMETER"],
      ["encoding=linear16&sample_rate=4000", "Bad Request"],
      ["encoding=mulaw&sample_rate=16000", "Bad Request"],
      ["encoding=opus&sample_rate=48000&channels=2", "Bad Request"],
      ["encoding=linear16&sample_rate=16000&channels=9", "INVALID_QUERY_PARAMETER"],
      ["encoding=linear16&sample_rate=16000&redact=aggressive_numbers", "Bad Request"],
      ["encoding=linear16&sample_rate=16000&language=multi", "Bad Request"],
      ["encoding=linear16&sample_rate=16000&interim_results=yes", "INVALID_QUERY_PARAMETER"],
      ["encoding=linear16&sample_rate=16000&model=a&model=b", "INVALID_QUERY_PARAMETER"],
    ];
    for (const [query, errCode] of refused) {
      const run = await rawListen(url, query, { headers: { authorization: `Token ${KEY}` } });
      assert.equal(run.status, 400, query);
      const body = JSON.parse(run.body) as { err_code: string; err_msg: string };
      assert.equal(body.err_code, errCode, query);
      assert.ok(body.err_msg.length > 0);
    }
    const accepted = await rawListen(
      url,
      "encoding=linear16&sample_rate=16000&punctuate=true&diarize=true&tag=x",
      { headers: { authorization: `Token ${KEY}` } },
      (ws) => ws.send(JSON.stringify({ type: "CloseStream" })),
    );
    assert.equal(accepted.status, 101);
    assert.equal(accepted.headers["x-earshot-ignored-params"], "punctuate, diarize, tag");
    // A parameter name is the client's: it cannot add a header to the answer.
    const injected = await rawListen(
      url,
      "encoding=linear16&sample_rate=16000&a%0D%0Ax-injected:%20yes=1",
      { headers: { authorization: `Token ${KEY}` } },
      (ws) => ws.send(JSON.stringify({ type: "CloseStream" })),
    );
    assert.equal(injected.status, 101);
    assert.equal(injected.headers["x-injected"], undefined);
    assert.equal(injected.headers["x-earshot-ignored-params"], "a%0D%0Ax-injected%3A%20yes");
  });

  it("closes as Deepgram does: 1008 DATA-0000 for text that is not JSON and for audio that is not audio", async () => {
    const auth = { headers: { authorization: `Token ${KEY}` } };
    const text = await rawListen(url, "encoding=linear16&sample_rate=16000", auth, (ws) => ws.send("not json"));
    assert.deepEqual(text.close, { code: 1008, reason: "DATA-0000" });
    const opus = await rawListen(url, "encoding=opus&sample_rate=48000", auth, (ws) =>
      ws.send(Buffer.alloc(4000, 0xff)),
    );
    assert.deepEqual(opus.close, { code: 1008, reason: "DATA-0000" });
    // KeepAlive and message types earshot has no use for get no answer; the stream goes on.
    const kept = await rawListen(url, "encoding=linear16&sample_rate=16000", auth, (ws) => {
      ws.send(JSON.stringify({ type: "KeepAlive" }));
      ws.send(JSON.stringify({ type: "Configure", processors: {} }));
      ws.send(JSON.stringify([1, 2]));
      ws.send(JSON.stringify({ type: "CloseStream" }));
    });
    assert.equal(kept.close.code, 1000);
    assert.deepEqual(
      kept.messages.map((m) => m.type),
      ["Metadata"],
    );
  });

  it("closes a stream that sends nothing for 10 s with 1011 NET-0001; KeepAlive holds it open", {
    timeout: 30_000,
  }, async () => {
    const auth = { headers: { authorization: `Token ${KEY}` } };
    const started = Date.now();
    const kept = rawListen(url, "encoding=linear16&sample_rate=16000", auth, async (ws) => {
      for (let i = 0; i < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 3000));
        ws.send(JSON.stringify({ type: "KeepAlive" }));
      }
      ws.send(JSON.stringify({ type: "CloseStream" }));
    });
    const idle = await rawListen(url, "encoding=linear16&sample_rate=16000", auth);
    assert.deepEqual(idle.close, { code: 1011, reason: "NET-0001" });
    assert.ok(Date.now() - started >= 9_900);
    assert.equal((await kept).close.code, 1000, "12 s of KeepAlive every 3 s");
  });

  it("counts streams by result and audio in the metrics", async () => {
    const samples = await scrape(url);
    assert.ok(sample(samples, 'earshot_deepgram_streams_total{result="ok"}') >= 10);
    assert.ok(sample(samples, 'earshot_deepgram_streams_total{result="invalid_auth"}') >= 3);
    assert.ok(sample(samples, 'earshot_deepgram_streams_total{result="unsupported_encoding"}') >= 1);
    assert.ok(sample(samples, 'earshot_deepgram_streams_total{result="bad_request"}') >= 1);
    assert.ok(sample(samples, 'earshot_deepgram_streams_total{result="undecodable_audio"}') >= 1);
    assert.ok(sample(samples, 'earshot_deepgram_streams_total{result="invalid_message"}') >= 1);
    assert.ok(sample(samples, 'earshot_deepgram_streams_total{result="idle_timeout"}') >= 1);
    assert.ok(sample(samples, "earshot_deepgram_audio_seconds_total") > 10);
  });
});
