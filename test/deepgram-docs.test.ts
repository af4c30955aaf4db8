/**
 * docs/compatibility.md's Deepgram examples, run as written (with the server's URL for
 * `ws://localhost:8787`) against a real server, each followed by a few lines that use what it made:
 * the `@deepgram/sdk` client streams a second of audio and gets `Metadata`; LiveKit's STT (after the
 * logger setup an agent's framework does) turns a tone into a final transcript.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";

const ROOT = new URL("../../", import.meta.url);
const KEY = "docs-deepgram-key";

/** The ```js blocks of the Deepgram section. */
function deepgramExamples(): string[] {
  const doc = readFileSync(new URL("docs/compatibility.md", ROOT), "utf8");
  const section = doc.slice(doc.indexOf("## Deepgram"));
  const end = section.indexOf("\n## ", 3);
  return [...(end < 0 ? section : section.slice(0, end)).matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
}

function run(script: URL, code: string): Promise<{ code: number; stdout: string; stderr: string }> {
  writeFileSync(script, code);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script.pathname],
      { cwd: ROOT.pathname, env: { ...process.env, EARSHOT_API_KEY: KEY }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const USE_DEEPGRAM_CLIENT = `
const socket = await client.listen.v1.connect({ model: "nova-3", encoding: "linear16", sample_rate: 16000, reconnectAttempts: 0 });
const types = [];
socket.on("message", (message) => types.push(message.type));
const closed = new Promise((resolve) => socket.on("close", (event) => resolve(event.code)));
socket.connect();
await socket.waitForOpen();
socket.sendMedia(new Uint8Array(32000));
socket.sendCloseStream({ type: "CloseStream" });
console.log(JSON.stringify({ code: await closed, types }));
`;

const LIVEKIT_LOGGER = `import { initializeLogger } from "@livekit/agents";\ninitializeLogger({ pretty: false, level: "warn" });\n`;

const USE_LIVEKIT_STT = `
import { stt as lk } from "@livekit/agents";
import { AudioFrame } from "@livekit/rtc-node";
const stream = stt.stream();
for (let i = 0; i < 150; i++) {
  const samples = new Int16Array(160);
  if (i < 100) for (let j = 0; j < 160; j++) samples[j] = Math.round(3000 * Math.sin((2 * Math.PI * 440 * (i * 160 + j)) / 16000));
  stream.pushFrame(new AudioFrame(samples, 16000, 1, 160));
}
stream.flush();
for await (const event of stream) {
  if (event.type === lk.SpeechEventType.FINAL_TRANSCRIPT) {
    console.log(JSON.stringify({ text: event.alternatives[0].text }));
    break;
  }
}
stream.close();
await stt.close();
process.exit(0);
`;

describe("docs/compatibility.md Deepgram examples", { timeout: 120_000 }, () => {
  let server: EarshotServer;
  let wsUrl: string;
  const script = new URL("test/dist/deepgram-doc-example.mjs", ROOT);

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { url } = await server.listen({ port: 0 });
    wsUrl = url.replace(/^http/, "ws");
    await server.ready;
  });
  after(async () => {
    rmSync(script, { force: true });
    await server.close();
  });

  it("has the two examples, with the change of base URL", () => {
    const examples = deepgramExamples();
    assert.equal(examples.length, 2);
    for (const example of examples) assert.match(example, /baseUrl: "ws:\/\/localhost:8787"/);
  });

  it("the @deepgram/sdk example streams to earshot", { timeout: 60_000 }, async () => {
    const [example = ""] = deepgramExamples();
    const result = await run(script, example.replace("ws://localhost:8787", wsUrl) + USE_DEEPGRAM_CLIENT);
    assert.equal(result.code, 0, result.stderr);
    const { code, types } = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}") as {
      code: number;
      types: string[];
    };
    assert.equal(code, 1000);
    assert.equal(types.at(-1), "Metadata");
  });

  it("the LiveKit example transcribes through earshot", { timeout: 60_000 }, async () => {
    const [, example = ""] = deepgramExamples();
    const result = await run(script, LIVEKIT_LOGGER + example.replace("ws://localhost:8787", wsUrl) + USE_LIVEKIT_STT);
    assert.equal(result.code, 0, result.stderr);
    const { text } = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}") as { text: string };
    assert.ok(text.length > 0);
  });
});
