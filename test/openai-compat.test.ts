/**
 * OpenAI's `POST /v1/audio/transcriptions` driven by the official `openai` SDK (pinned) against a
 * real server with the PocketSphinx engine: a streamed file upload (chunked multipart, no
 * Content-Length), `toFile`, every response format, and the SDK's error classes for refusals.
 */
import assert from "node:assert/strict";
import { createReadStream, readFileSync } from "node:fs";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { writeWav } from "@earshot/audio";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { normalizeWords } from "@earshot/test-support";
import OpenAI, { AuthenticationError, BadRequestError, InternalServerError, RateLimitError, toFile } from "openai";
import { sample, scrape } from "./helpers/prometheus.js";

const KEY = "openai-key";
const WAV = new URL("../../test/fixtures/eval/en-16k/ps-goforward.wav", import.meta.url);
const EXPECTED = "go forward ten meters";

describe("OpenAI transcriptions with the openai SDK", () => {
  let server: EarshotServer;
  let url: string;
  let client: OpenAI;

  before(async () => {
    server = createServer({ engine: new PocketSphinxEngine({ workers: 1 }), apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(() => server.close());

  it("transcribes a streamed file (chunked multipart) as json", async () => {
    const lengths: (string | null)[] = [];
    const watching = new OpenAI({
      baseURL: `${url}/v1`,
      apiKey: KEY,
      maxRetries: 0,
      fetch: (input, init) => {
        lengths.push(new Headers(init?.headers).get("content-length"));
        return fetch(input, init);
      },
    });
    const result = await watching.audio.transcriptions.create({ file: createReadStream(WAV), model: "whisper-1" });
    assert.equal(normalizeWords(result.text).join(" "), EXPECTED);
    assert.deepEqual(lengths, [null], "the SDK streamed the upload without a Content-Length");
  });

  it("takes toFile and gives verbose_json with words and segments", async () => {
    const file = await toFile(readFileSync(WAV), "clip.wav", { type: "audio/wav" });
    const result = await client.audio.transcriptions.create({
      file,
      model: "gpt-4o-transcribe",
      response_format: "verbose_json",
      timestamp_granularities: ["word", "segment"],
    });
    assert.equal(normalizeWords(result.text).join(" "), EXPECTED);
    assert.equal(result.language, "english");
    assert.ok(result.duration > 1 && result.duration < 5, `duration ${result.duration}`);
    const words = result.words ?? [];
    assert.equal(normalizeWords(words.map((w) => w.word).join(" ")).join(" "), EXPECTED);
    for (const word of words) assert.ok(word.end >= word.start && word.end <= result.duration + 0.01);
    assert.ok((result.segments?.length ?? 0) >= 1);
    assert.equal(result.segments?.[0]?.id, 0);
  });

  it("gives text, srt and vtt as strings", async () => {
    const ask = (response_format: "text" | "srt" | "vtt") =>
      client.audio.transcriptions.create({ file: createReadStream(WAV), model: "whisper-1", response_format });
    const text = await ask("text");
    assert.equal(normalizeWords(text).join(" "), EXPECTED);
    const srt = await ask("srt");
    assert.match(srt, /^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n.*go forward/i);
    const vtt = await ask("vtt");
    assert.match(vtt, /^WEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n.*go forward/i);
  });

  it("streams transcript.text.delta events, then transcript.text.done (stream=true)", async () => {
    const stream = await client.audio.transcriptions.create({
      file: createReadStream(WAV),
      model: "gpt-4o-mini-transcribe",
      stream: true,
    });
    const events: { type: string; delta?: string; text?: string }[] = [];
    for await (const event of stream) events.push(event);
    const done = events.at(-1);
    assert.equal(done?.type, "transcript.text.done");
    assert.equal(normalizeWords(done?.text ?? "").join(" "), EXPECTED);
    const deltas = events.slice(0, -1);
    assert.ok(deltas.length >= 1 && deltas.every((e) => e.type === "transcript.text.delta"));
    assert.equal(deltas.map((e) => e.delta).join(""), done?.text);
  });

  it("resamples a 44.1 kHz stereo WAV and reports ignored fields", async () => {
    const pcm = new Int16Array(44_100);
    const stereo = writeWav(44_100, [pcm, pcm]);
    const { data, response } = await client.audio.transcriptions
      .create({ file: await toFile(stereo, "silence.wav"), model: "whisper-1", prompt: "ignored" })
      .withResponse();
    assert.equal(data.text, "");
    assert.equal(response.headers.get("x-earshot-ignored-fields"), "prompt");
  });

  it("refuses a wrong key with AuthenticationError (401)", async () => {
    const stranger = new OpenAI({ baseURL: `${url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await assert.rejects(
      stranger.audio.transcriptions.create({ file: createReadStream(WAV), model: "whisper-1" }),
      (error: unknown) => error instanceof AuthenticationError && error.code === "invalid_api_key",
    );
  });

  it("refuses bad requests in OpenAI's error shape", async () => {
    const wav = await toFile(readFileSync(WAV), "clip.wav");
    await assert.rejects(
      client.audio.transcriptions.create({ file: wav, model: "no-such-model" }),
      (error: unknown) => error instanceof BadRequestError && error.param === "model",
    );
    await assert.rejects(
      client.audio.transcriptions.create({
        file: await toFile(Buffer.from("ID3 not a wav"), "a.mp3"),
        model: "whisper-1",
      }),
      (error: unknown) =>
        error instanceof OpenAI.APIError && error.status === 415 && error.code === "unsupported_file_format",
    );
    const noFile = await fetch(`${url}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
      body: (() => {
        const form = new FormData();
        form.set("model", "whisper-1");
        return form;
      })(),
    });
    assert.equal(noFile.status, 400);
    assert.deepEqual(await noFile.json(), {
      error: {
        message: "file is required: send the audio as the multipart part named file.",
        type: "invalid_request_error",
        param: "file",
        code: "missing_file",
      },
    });
  });

  it("survives an upload cut mid-body, and serves the next request", async () => {
    const { port, hostname } = new URL(url);
    const upload = request({
      host: hostname,
      port,
      method: "POST",
      path: "/v1/audio/transcriptions",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "multipart/form-data; boundary=cut" },
    });
    upload.on("error", () => undefined);
    upload.write('--cut\r\ncontent-disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF');
    await new Promise((resolve) => setTimeout(resolve, 50));
    upload.destroy();
    const result = await client.audio.transcriptions.create({ file: createReadStream(WAV), model: "whisper-1" });
    assert.equal(normalizeWords(result.text).join(" "), EXPECTED);
  });

  it("counts requests by result and the audio transcribed in /metrics", async () => {
    const samples = await scrape(url);
    assert.ok(sample(samples, 'earshot_openai_transcriptions_total{result="ok"}') >= 5);
    assert.ok(sample(samples, 'earshot_openai_transcriptions_total{result="invalid_api_key"}') >= 1);
    assert.ok(sample(samples, 'earshot_openai_transcriptions_total{result="unsupported_file_format"}') >= 1);
    assert.equal(sample(samples, 'earshot_openai_transcriptions_total{result="over_capacity"}'), 0);
    assert.ok(sample(samples, "earshot_openai_audio_seconds_total") > 10);
  });

  it("refuses a file over 25 MiB with 413", async () => {
    const form = new FormData();
    form.set("model", "whisper-1");
    form.set("file", new Blob([new Uint8Array(25 * 1024 * 1024 + 1)]), "big.wav");
    const reply = await fetch(`${url}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
      body: form,
    });
    assert.equal(reply.status, 413);
    const body = (await reply.json()) as { error: { code: string } };
    assert.equal(body.error.code, "file_too_large");
  });
});

describe("OpenAI transcriptions refused by the server's limits", () => {
  const refusing = async (options: { maxStreamsPerKey?: number; maxStreams?: number; maxUploadBytes?: number }) => {
    const server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      ...(options.maxStreamsPerKey === undefined ? {} : { maxStreamsPerKey: options.maxStreamsPerKey }),
      ...(options.maxStreams === undefined ? {} : { admission: { maxStreams: options.maxStreams } }),
      ...(options.maxUploadBytes === undefined ? {} : { maxUploadBytes: options.maxUploadBytes }),
    });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    return { server, client: new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 }) };
  };

  it("answers 429 (RateLimitError) when the key holds its maximum of streams", async () => {
    const { server, client } = await refusing({ maxStreamsPerKey: 0 });
    try {
      await assert.rejects(
        client.audio.transcriptions.create({ file: createReadStream(WAV), model: "whisper-1" }),
        (error: unknown) => error instanceof RateLimitError && error.code === "too_many_streams",
      );
    } finally {
      await server.close();
    }
  });

  it("answers 503 (InternalServerError) with Retry-After when admission refuses", async () => {
    const { server, client } = await refusing({ maxStreams: 0 });
    try {
      await assert.rejects(
        client.audio.transcriptions.create({ file: createReadStream(WAV), model: "whisper-1" }),
        (error: unknown) =>
          error instanceof InternalServerError &&
          error.status === 503 &&
          error.code === "over_capacity" &&
          error.headers.get("retry-after") !== null,
      );
    } finally {
      await server.close();
    }
  });

  it("answers 413 over a configured upload limit", async () => {
    const { server, client } = await refusing({ maxUploadBytes: 1000 });
    try {
      await assert.rejects(
        client.audio.transcriptions.create({ file: createReadStream(WAV), model: "whisper-1" }),
        (error: unknown) => error instanceof OpenAI.APIError && error.status === 413 && error.code === "file_too_large",
      );
    } finally {
      await server.close();
    }
  });

  it("answers 503 engine_unavailable when the engine fails, and an error event once streaming began", async () => {
    class FailingEngine extends TestEngine {
      override openStream(): never {
        throw new Error("no decoder");
      }
    }
    const server = createServer({ engine: new FailingEngine(), apiKeys: [KEY] });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
    try {
      await assert.rejects(
        client.audio.transcriptions.create({ file: createReadStream(WAV), model: "whisper-1" }),
        (error: unknown) =>
          error instanceof InternalServerError && error.status === 503 && error.code === "engine_unavailable",
      );
      const stream = await client.audio.transcriptions.create({
        file: createReadStream(WAV),
        model: "whisper-1",
        stream: true,
      });
      await assert.rejects(async () => {
        for await (const _event of stream);
      }, OpenAI.APIError);
    } finally {
      await server.close();
    }
  });
});
