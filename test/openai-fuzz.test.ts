/**
 * The OpenAI surface against hostile requests, seeded: broken and truncated multipart bodies, wrong
 * boundaries and content types, corrupt and foreign files, every field with wrong values, bad keys
 * and methods, uploads cut mid-body. Every answer is a 200 in the asked format or an error in
 * OpenAI's shape with a code and status from the documented table; nothing escapes a handler; and
 * the server still transcribes afterwards.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { writeWav } from "@earshot/audio";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer, OPENAI_ERRORS, TRANSCRIPTIONS_PATH } from "@earshot/server";
import { mulberry32, pick, type Random } from "@earshot/test-support";
import { bursts } from "./helpers/signals.js";

const KEY = "fuzz-key";
const SEED = 0x0a_17_20_26;
const REQUESTS = 400;
const WORKERS = 4;
const BOUNDARY = "fuzzboundary";
const SPEECH = writeWav(16_000, [bursts([{ toneMs: 600, silenceMs: 500 }])]);

interface Part {
  readonly name: string;
  readonly value: Buffer | string;
  readonly filename?: string;
}

function multipart(parts: readonly Part[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? "" : `; filename="${part.filename}"`}`;
    chunks.push(Buffer.from(`--${boundary}\r\ncontent-disposition: ${disposition}\r\n\r\n`));
    chunks.push(typeof part.value === "string" ? Buffer.from(part.value) : part.value);
    chunks.push(Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

const bytes = (random: Random, max: number): Buffer =>
  Buffer.from(Array.from({ length: Math.floor(random() * max) }, () => Math.floor(random() * 256)));

function hostileFile(random: Random): Buffer {
  return pick(random, [
    () => Buffer.from(SPEECH),
    () => Buffer.from(SPEECH.subarray(0, Math.floor(random() * 60))),
    () => Buffer.concat([Buffer.from("RIFF\0\0\0\0WAVE"), bytes(random, 200)]),
    () => {
      const wav = Buffer.from(SPEECH);
      for (let i = 0; i < 8; i++) wav[12 + Math.floor(random() * 40)] = Math.floor(random() * 256);
      return wav;
    },
    () => Buffer.from(writeWav(8_000 + Math.floor(random() * 40_000), [new Int16Array(800), new Int16Array(800)])),
    () => Buffer.from("ID3\x03\0\0\0\0\0\0 an mp3"),
    () => bytes(random, 500),
    () => Buffer.alloc(0),
  ])();
}

const FIELD_VALUES: Readonly<Record<string, readonly string[]>> = {
  model: ["whisper-1", "gpt-4o-transcribe", "test", "", "x".repeat(300), "whisper-2", "default"],
  response_format: ["json", "text", "srt", "vtt", "verbose_json", "diarized_json", "", "JSON"],
  "timestamp_granularities[]": ["word", "segment", "char", ""],
  language: ["en", "EN", "xx", "", "en-US", "a".repeat(40)],
  stream: ["true", "false", "1", ""],
  prompt: ["hello", "x".repeat(70_000)],
  temperature: ["0", "2", "nan"],
};

interface Case {
  readonly kind: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** Cut the upload after this many bytes. */
  readonly cutAt?: number;
}

function hostileCase(random: Random): Case {
  const auth = { authorization: `Bearer ${KEY}` };
  const contentType = { "content-type": `multipart/form-data; boundary=${BOUNDARY}` };
  const fields = (): Part[] =>
    Object.entries(FIELD_VALUES)
      .filter(() => random() < 0.5)
      .map(([name, values]) => ({ name, value: pick(random, values) }));
  const form = (): Buffer => {
    const parts = [...fields(), { name: "file", value: hostileFile(random), filename: "clip.wav" }];
    if (random() < 0.8) parts.push({ name: "model", value: pick(random, FIELD_VALUES.model ?? []) });
    return multipart(parts.sort(() => random() - 0.5));
  };
  return pick(random, [
    (): Case => ({ kind: "form", method: "POST", headers: { ...auth, ...contentType }, body: form() }),
    (): Case => {
      const body = form();
      return {
        kind: "truncated",
        method: "POST",
        headers: { ...auth, ...contentType },
        body: body.subarray(0, Math.floor(random() * body.length)),
      };
    },
    (): Case => {
      const body = form();
      return {
        kind: "cut",
        method: "POST",
        headers: { ...auth, ...contentType },
        body,
        cutAt: Math.floor(random() * body.length),
      };
    },
    (): Case => ({ kind: "garbage", method: "POST", headers: { ...auth, ...contentType }, body: bytes(random, 2000) }),
    (): Case => ({
      kind: "content-type",
      method: "POST",
      headers: {
        ...auth,
        "content-type": pick(random, [
          "multipart/form-data",
          "application/json",
          "text/plain",
          "multipart/form-data; boundary=other",
        ]),
      },
      body: form(),
    }),
    (): Case => ({ kind: "no-file", method: "POST", headers: { ...auth, ...contentType }, body: multipart(fields()) }),
    (): Case => ({
      kind: "method",
      method: pick(random, ["GET", "PUT", "DELETE"]),
      headers: auth,
      body: Buffer.alloc(0),
    }),
    (): Case => ({
      kind: "auth",
      method: "POST",
      headers: {
        ...contentType,
        ...(random() < 0.5
          ? {}
          : { authorization: pick(random, ["Bearer nope", "Basic abc", "Bearer", `Token ${KEY}x`]) }),
      },
      body: form(),
    }),
  ])();
}

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

function send(port: number, fuzz: Case): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, method: fuzz.method, path: TRANSCRIPTIONS_PATH, headers: fuzz.headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers["content-type"] ?? "",
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", () => resolve(undefined));
      },
    );
    req.on("error", () => resolve(undefined));
    if (fuzz.cutAt !== undefined) {
      req.write(fuzz.body.subarray(0, fuzz.cutAt), () => setTimeout(() => req.destroy(), 5));
      return;
    }
    req.end(fuzz.body);
  });
}

describe("OpenAI transcriptions fuzz", () => {
  let server: EarshotServer;
  let port: number;
  let url: string;
  const crashes: Error[] = [];
  const onCrash = (error: Error) => crashes.push(error);

  before(async () => {
    process.on("uncaughtExceptionMonitor", onCrash);
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    ({ url, port } = await server.listen({ port: 0 }));
    await server.ready;
  });
  after(async () => {
    process.off("uncaughtExceptionMonitor", onCrash);
    await server.close();
  });

  it(`${REQUESTS} hostile requests: only documented answers, no crash, still serving`, {
    timeout: 60_000,
  }, async (t) => {
    const random = mulberry32(SEED);
    const cases = Array.from({ length: REQUESTS }, () => hostileCase(random));
    const violations: string[] = [];
    const statuses = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const fuzz = cases[next++] as Case;
        const answer = await send(port, fuzz);
        if (!answer) continue; // a cut upload: nobody to answer
        const key = `${fuzz.kind} ${answer.status}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (answer.status === 200) continue;
        try {
          const { error } = JSON.parse(answer.body) as { error: Record<string, unknown> };
          const spec = OPENAI_ERRORS[error.code as keyof typeof OPENAI_ERRORS];
          assert.ok(spec, `undocumented code ${String(error.code)}`);
          assert.equal(answer.status, spec.status);
          assert.equal(error.type, spec.type);
          assert.equal(typeof error.message, "string");
          assert.ok(error.param === null || typeof error.param === "string");
        } catch (error) {
          violations.push(`${fuzz.kind}: ${answer.status} ${answer.body.slice(0, 200)} (${String(error)})`);
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    t.diagnostic(`answers by kind and status: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    assert.deepEqual([...new Set(crashes.map((e) => `${e.name}: ${e.message}`))], [], "exceptions escaped the server");
    assert.deepEqual(violations.slice(0, 10), []);

    const form = new FormData();
    form.set("model", "whisper-1");
    form.set("file", new Blob([Buffer.from(SPEECH)]), "speech.wav");
    const healthy = await fetch(`${url}${TRANSCRIPTIONS_PATH}`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
      body: form,
    });
    assert.equal(healthy.status, 200);
    assert.ok(((await healthy.json()) as { text: string }).text.length > 0);
  });
});
