/** docs/telephony.md's subscriber example, run as written against a call the Twilio simulator plays. */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { bursts } from "./helpers/signals.js";
import { TwilioSimulator } from "./helpers/twilio-simulator.js";
import { WireClient } from "./helpers/ws-client.js";

const ROOT = new URL("../../", import.meta.url);
const KEY = "telephony-docs-key";
const AUTH_TOKEN = "telephony-docs-auth-token";

describe("docs/telephony.md examples", () => {
  let server: EarshotServer;
  let url: string;
  const script = new URL("test/dist/telephony-example.mjs", ROOT);

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY], twilio: { authToken: AUTH_TOKEN } });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(async () => {
    rmSync(script, { force: true });
    await server.close();
  });

  it("the subscriber prints each final with its speaker, then the end", async () => {
    const doc = readFileSync(new URL("docs/telephony.md", ROOT), "utf8");
    const example = /```js\n(import WebSocket from "ws";[\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example, "docs/telephony.md has the subscriber example");
    writeFileSync(script, example);
    const twilio = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
    const run = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [script.pathname],
        {
          cwd: ROOT.pathname,
          env: { ...process.env, EARSHOT_URL: url, EARSHOT_API_KEY: KEY, CALL_SID: twilio.callSid },
        },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
    // The subscriber may connect before or after the call starts: it misses nothing either way.
    await new Promise((resolve) => setTimeout(resolve, 300));
    twilio.start();
    await twilio.play(
      [
        { track: "inbound", pcm: bursts([{ toneMs: 1000, silenceMs: 500 }]) },
        { track: "outbound", pcm: bursts([{ toneMs: 600, silenceMs: 500 }]), startMs: 2000 },
      ],
      { speed: 4 },
    );
    twilio.stop();
    const { code, stdout, stderr } = await run;
    assert.equal(code, 0, stderr);
    assert.deepEqual(stdout.trim().split("\n"), [
      "customer: alpha bravo charlie delta echo",
      "agent: kilo lima mike",
      "call ended: stopped",
    ]);
  });
});

/** A free TCP port on the loopback address. */
async function freePort(): Promise<number> {
  const probe = createNetServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const address = probe.address();
  probe.close();
  return typeof address === "object" && address ? address.port : 0;
}

describe("docs/telephony.md: the TwiML webhook that mints a token per call", () => {
  let server: EarshotServer;
  let url: string;
  let webhook: ChildProcess | undefined;
  const script = new URL("test/dist/telephony-twiml-example.mjs", ROOT);

  before(async () => {
    // Without a Twilio auth token: streams authenticate with the token parameter.
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(async () => {
    webhook?.kill();
    rmSync(script, { force: true });
    await server.close();
  });

  it("answers TwiML whose <Stream> and token parameter open a call, as Twilio would use them", async () => {
    const doc = readFileSync(new URL("docs/telephony.md", ROOT), "utf8");
    const example = /```js\n(\/\/ Your TwiML webhook[\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example, "docs/telephony.md has the TwiML webhook example");
    writeFileSync(script, example);
    const port = await freePort();
    webhook = spawn(process.execPath, [script.pathname], {
      cwd: ROOT.pathname,
      env: { ...process.env, EARSHOT_URL: url, EARSHOT_API_KEY: KEY, PORT: String(port) },
      stdio: "inherit",
    });
    let twiml = "";
    for (let attempt = 0; attempt < 50 && twiml === ""; attempt++) {
      twiml = await fetch(`http://127.0.0.1:${port}/voice`, { method: "POST" }).then(
        (r) => r.text(),
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return "";
        },
      );
    }
    const streamUrl = /<Stream url="([^"]+)" track="both_tracks">/.exec(twiml)?.[1];
    const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(twiml)?.[1] ?? "";
    assert.equal(streamUrl, `${url.replace(/^http/, "ws")}/v1/twilio/media-stream`, twiml);
    assert.match(token, /^est_/, twiml);

    const twilio = await TwilioSimulator.connect({ baseUrl: url, path: new URL(streamUrl).pathname });
    const subscriber = await WireClient.open(url, KEY, { path: `/v1/calls/${twilio.callSid}/events` });
    twilio.start({ customParameters: { token } });
    await twilio.play([{ track: "inbound", pcm: bursts([{ toneMs: 600, silenceMs: 500 }]) }], { speed: 4 });
    twilio.stop();
    await subscriber.waitFor((m) => m.type === "call_ended", 10_000, "call_ended");
    assert.deepEqual(
      subscriber.finals().map((f) => [f.speaker, f.text]),
      [["customer", "alpha bravo charlie"]],
    );
  });
});
