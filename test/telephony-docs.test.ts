/** docs/telephony.md's subscriber example, run as written against a call the Twilio simulator plays. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { bursts } from "./helpers/signals.js";
import { TwilioSimulator } from "./helpers/twilio-simulator.js";

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
