/**
 * Hostile or broken Twilio peers, seeded: thousands of mutated Twilio messages (fields dropped,
 * retyped, enormous or nested; unknown events; garbage text and binary) over many signed streams,
 * some started and some not, some cut mid-message. The server must never crash, never send a
 * Twilio peer anything, count every fault, and still transcribe a clean call beside them exactly.
 * The log must carry the fault codes and never a secret (auth token, signature, stream token).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { between, mulberry32, pick, type Random } from "@earshot/test-support";
import { capturedLog } from "./helpers/captured-log.js";
import { scrape } from "./helpers/prometheus.js";
import { bursts } from "./helpers/signals.js";
import { mulawFrames, TwilioSimulator, UpgradeRefused } from "./helpers/twilio-simulator.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "twilio-fuzz-key";
const AUTH_TOKEN = "twilio-fuzz-auth-token-0123456789";
const SEED = 0x16_16_20_26;
const STREAMS = 40;
const MESSAGES_PER_STREAM = 120;
const CALL = bursts([
  { toneMs: 1000, silenceMs: 500 },
  { toneMs: 600, silenceMs: 700 },
]);
const PAYLOAD = mulawFrames(CALL.subarray(0, 320))[0] ?? "";

/** A valid Twilio message of each kind, to mutate. */
function validMessages(streamSid: string, callSid: string, sequence: number): Record<string, unknown>[] {
  return [
    { event: "connected", protocol: "Call", version: "1.0.0" },
    {
      event: "start",
      sequenceNumber: String(sequence),
      start: {
        accountSid: "AC1",
        streamSid,
        callSid,
        tracks: ["inbound", "outbound"],
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        customParameters: {},
      },
      streamSid,
    },
    {
      event: "media",
      sequenceNumber: String(sequence),
      media: { track: "inbound", chunk: String(sequence), timestamp: String(sequence * 20), payload: PAYLOAD },
      streamSid,
    },
    { event: "mark", sequenceNumber: String(sequence), streamSid, mark: { name: "m" } },
    { event: "dtmf", sequenceNumber: String(sequence), streamSid, dtmf: { track: "inbound_track", digit: "5" } },
  ];
}

const WEIRD_VALUES: unknown[] = [
  null,
  -1,
  1e308,
  "",
  "9".repeat(40),
  "-5",
  [],
  {},
  { nested: { deeper: [1, 2, 3] } },
  true,
  "€∂ƒ",
  "A".repeat(5000),
  "====",
  "\u0000",
];

/** A fresh copy of a weird value (mutations must not reach the list's own objects). */
const weird = (random: Random): unknown => structuredClone(pick(random, WEIRD_VALUES));

/** One hostile frame: a mutated valid message, or garbage. */
function hostileFrame(random: Random, streamSid: string, callSid: string, sequence: number): string | Buffer {
  const kind = between(random, 0, 9);
  if (kind === 0) return Buffer.from(Array.from({ length: between(random, 1, 64) }, () => between(random, 0, 255)));
  if (kind === 1) return pick(random, ["{", "[1,2", "null", "42", '"text"', "{}", '{"event":"closed"}', ""]);
  const message = structuredClone(pick(random, validMessages(streamSid, callSid, sequence)));
  const mutate = (target: Record<string, unknown>) => {
    const keys = Object.keys(target);
    if (keys.length === 0) {
      target.extra = weird(random);
      return;
    }
    const key = pick(random, keys);
    const action = between(random, 0, 3);
    if (action === 0) delete target[key];
    else if (action === 1) target[key] = weird(random);
    else if (action === 2) target[`extra${between(random, 0, 9)}`] = weird(random);
    else {
      const inner = target[key];
      if (inner && typeof inner === "object" && !Array.isArray(inner)) mutate(inner as Record<string, unknown>);
      else target[key] = weird(random);
    }
  };
  for (let i = between(random, kind === 2 ? 0 : 1, 3); i > 0; i--) mutate(message);
  return JSON.stringify(message);
}

describe("Twilio media streams under hostile peers", () => {
  let server: EarshotServer;
  let url: string;
  const log = capturedLog();

  before(async () => {
    server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      twilio: { authToken: AUTH_TOKEN },
      logger: log.logger,
    });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("never crashes, never answers Twilio, counts the faults, and a clean call beside them is exact", async (t) => {
    const random = mulberry32(SEED);
    const clean = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
    const subscriber = await WireClient.open(url, KEY, { path: `/v1/calls/${clean.callSid}/events` });
    clean.start({ tracks: ["inbound"] });
    const playing = clean.play([{ track: "inbound", pcm: CALL }], { speed: 2 });

    const peers: TwilioSimulator[] = [];
    for (let s = 0; s < STREAMS; s++) {
      const peer = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
      peers.push(peer);
      if (random() < 0.5) peer.start({ tracks: pick(random, [["inbound"], ["inbound", "outbound"], ["sideways"]]) });
      for (let m = 0; m < MESSAGES_PER_STREAM; m++) {
        peer.sendRaw(hostileFrame(random, peer.streamSid, peer.callSid, between(random, 0, 400)));
      }
      if (random() < 0.3) peer.cut();
      else if (random() < 0.5) peer.stop();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await playing;
    clean.stop();
    await subscriber.waitFor((m) => m.type === "call_ended", 20_000, "call_ended");
    const finals = subscriber.finals().map((f) => f.text);
    assert.deepEqual(finals, ["alpha bravo charlie delta echo", "hotel india juliett"]);
    for (const peer of peers) {
      assert.deepEqual(peer.received, [], "nothing is ever sent to a Twilio peer");
      peer.cut();
    }
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const counts = [...(await scrape(url)).entries()].filter(
      ([series, value]) => series.startsWith("earshot_twilio_faults_total") && value > 0,
    );
    t.diagnostic(
      counts.map(([series, value]) => `${series.replace("earshot_twilio_faults_total", "")} ${value}`).join(", "),
    );
    const faults = counts.reduce((sum, [, value]) => sum + value, 0);
    assert.ok(faults > STREAMS * MESSAGES_PER_STREAM * 0.3, `${faults} faults counted`);
  });

  it("logs why a stream was refused, never a secret", async () => {
    const token = "est_not_a_real_token_but_secret";
    const signature = "c2lnbmF0dXJlLXNlY3JldA==";
    await assert.rejects(
      TwilioSimulator.connect({ baseUrl: url, signatureOverride: signature }),
      (error: unknown) => error instanceof UpgradeRefused && error.status === 403,
    );
    const peer = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
    peer.start({ customParameters: { token } });
    assert.equal((await peer.closed).code, 1008);
    const text = log.text();
    assert.match(text, /X-Twilio-Signature does not match/);
    assert.match(text, /"code":"twilio_unauthorized"/);
    for (const secret of [AUTH_TOKEN, signature, token]) assert.ok(!text.includes(secret), "a secret was logged");
  });
});
