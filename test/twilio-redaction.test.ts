/**
 * A call configured by its `<Parameter>`s: `redact=pci`, `numerals=true`, `endpointing_ms=2000`.
 * The caller reads a card number in two halves, split over two finals (the test engine is given the
 * ten digit words, so a burst starting at `t` ms is digit `floor(t / 200) % 10`, as in
 * redaction.test.ts). No digit of it may reach a subscriber, in partials or finals; without
 * `redact` the same call gives the digits (the test is not vacuous); a parameter the server cannot
 * honour closes the stream at `start`.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { type Burst, bursts } from "./helpers/signals.js";
import { TwilioSimulator } from "./helpers/twilio-simulator.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "twilio-redaction-key";
const AUTH_TOKEN = "twilio-redaction-auth-token";
const DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const HALVES = ["42424242", "42424242"];

/** 200 ms bursts, each where the engine names the digit wanted; `pauseMs` after each half. */
function reading(halves: readonly string[], pauseMs: number): Int16Array {
  const pattern: Burst[] = [{ toneMs: 0, silenceMs: 0 }];
  let atMs = 0;
  const addSilence = (ms: number) => {
    const last = pattern.at(-1) as Burst;
    pattern[pattern.length - 1] = { ...last, silenceMs: last.silenceMs + ms };
  };
  for (const half of halves) {
    for (const digit of half) {
      // atMs stays a multiple of 200: the next word slot whose index ends in the digit is at most 9 away.
      let startMs = atMs;
      for (let slot = 0; slot < 10 && (startMs / 200) % 10 !== Number(digit); slot++) startMs += 200;
      addSilence(startMs - atMs);
      pattern.push({ toneMs: 200, silenceMs: 0 });
      atMs = startMs + 200;
    }
    addSilence(pauseMs);
    atMs += pauseMs;
  }
  addSilence(2400);
  return bursts(pattern);
}

async function call(url: string, parameters: Record<string, string>): Promise<WireClient> {
  const twilio = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
  const subscriber = await WireClient.open(url, KEY, { path: `/v1/calls/${twilio.callSid}/events` });
  twilio.start({ tracks: ["inbound"], customParameters: parameters });
  await twilio.play([{ track: "inbound", pcm: reading(HALVES, 2000) }], { speed: 8 });
  twilio.stop();
  await subscriber.waitFor((m) => m.type === "call_ended", 20_000, "call_ended");
  return subscriber;
}

describe("Twilio calls configured by their parameters", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({
      engine: new TestEngine({ vocabulary: DIGITS }),
      apiKeys: [KEY],
      twilio: { authToken: AUTH_TOKEN },
    });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("redact=pci: no digit of a card number read over two finals reaches the subscriber", async () => {
    const configured = { redact: "pci", numerals: "true", endpointing_ms: "2000" };
    const subscriber = await call(url, configured);
    const transcripts = subscriber.messages.filter((m) => m.type === "transcript");
    const finals = transcripts.filter((m) => m.is_final === true);
    assert.equal(finals.length, 2, JSON.stringify(finals.map((f) => f.text)));
    for (const message of transcripts) {
      const text = JSON.stringify(message);
      assert.ok(!/\d{4}|four|two/.test(String(message.text)), `leaked: ${text}`);
      assert.ok(!/"word":"(four|two|\d+)"/.test(text), `leaked in words: ${text}`);
    }
    assert.ok(
      finals.every((f) => String(f.text).includes("[REDACTED_PCI]")),
      JSON.stringify(finals),
    );
    assert.deepEqual(subscriber.messages[0]?.custom_parameters, configured);

    const plain = await call(url, { numerals: "true", endpointing_ms: "2000" });
    const digits = plain.finals().map((f) => String(f.text).replace(/\s/g, ""));
    assert.deepEqual(digits, HALVES, "without redact, the same call gives the digits");
  });

  it("a parameter the server cannot honour closes the stream at start", async () => {
    for (const parameters of [{ redact: "everything" }, { numerals: "yes" }, { language: "zz" }]) {
      const twilio = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
      twilio.start({ tracks: ["inbound"], customParameters: parameters });
      assert.equal((await twilio.closed).code, 1008, JSON.stringify(parameters));
    }
  });
});
