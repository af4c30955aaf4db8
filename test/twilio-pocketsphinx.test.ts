/**
 * A phone call as Twilio streams it, transcribed by PocketSphinx: the Twilio simulator plays real
 * telephone speech on both tracks (the eval set's 8 kHz μ-law copies, made with sox) at Twilio's
 * 20 ms pacing, the agent starting 1.5 s after the caller, over a signed upgrade. Each channel's
 * words must be its own track's (telephone audio through a wideband model loses about half of them:
 * docs/benchmarks.md, "Encodings"), labelled with its channel and speaker, on the stream's clock.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { createServer, type EarshotServer } from "@earshot/server";
import { loadEvalSet, normalizeWords, wordEdits } from "@earshot/test-support";
import { mulawSpeech } from "./helpers/speech.js";
import { TwilioSimulator } from "./helpers/twilio-simulator.js";
import { type Received, WireClient } from "./helpers/ws-client.js";

const KEY = "twilio-ps-key";
const AUTH_TOKEN = "twilio-ps-auth-token";
const CALLER = ["ps-goforward", "ps-librivox-0880"];
const AGENT = ["ps-cards-005", "ls-1089-134691-0000"];
const AGENT_START_MS = 1500;
const PAUSE_MS = 700;
/**
 * Share of a track's reference words its channel must get right (1 − edits / words): measured 0.83
 * (caller) and 0.43 (agent) with the default band extension (0.50 and 0.36 without), against 0.00
 * for the other track's words.
 */
const MIN_AGREEMENT = 0.2;

function reference(ids: readonly string[]): string[] {
  const set = loadEvalSet();
  return normalizeWords(ids.map((id) => set.find((u) => u.id === id)?.text ?? "").join(" "));
}

const agreement = (ref: readonly string[], hyp: readonly string[]) => 1 - wordEdits(ref, hyp) / ref.length;

describe("Twilio media stream with PocketSphinx: both sides of a call", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({
      engine: new PocketSphinxEngine({ workers: 2 }),
      apiKeys: [KEY],
      twilio: { authToken: AUTH_TOKEN },
    });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("transcribes the caller and the agent as two labelled channels", async (t) => {
    const twilio = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
    const subscriber = await WireClient.open(url, KEY, { path: `/v1/calls/${twilio.callSid}/events` });
    twilio.start({ customParameters: { queue: "billing" } });
    await twilio.play([
      { track: "inbound", pcm: mulawSpeech(CALLER, PAUSE_MS) },
      { track: "outbound", pcm: mulawSpeech(AGENT, PAUSE_MS), startMs: AGENT_START_MS },
    ]);
    twilio.stop();
    const ended = await subscriber.waitFor((m) => m.type === "call_ended", 30_000, "call_ended");
    assert.equal(ended.reason, "stopped");
    assert.deepEqual(twilio.received, [], "nothing is sent to Twilio");

    const finals = (channel: number) =>
      subscriber.messages.filter((m) => m.type === "transcript" && m.is_final === true && m.channel === channel);
    const words = (messages: readonly Received[]) => normalizeWords(messages.map((m) => String(m.text)).join(" "));
    const caller = words(finals(0));
    const agent = words(finals(1));
    const callerRef = reference(CALLER);
    const agentRef = reference(AGENT);
    const shown = JSON.stringify({ caller, agent });
    t.diagnostic(
      `caller ${agreement(callerRef, caller).toFixed(2)} (vs agent's words ${agreement(agentRef, caller).toFixed(2)}), ` +
        `agent ${agreement(agentRef, agent).toFixed(2)} (vs caller's ${agreement(callerRef, agent).toFixed(2)}): ${shown}`,
    );
    assert.ok(agreement(callerRef, caller) >= MIN_AGREEMENT, shown);
    assert.ok(agreement(agentRef, agent) >= MIN_AGREEMENT, shown);
    assert.ok(agreement(callerRef, caller) > agreement(agentRef, caller), `channel 0 is the caller: ${shown}`);
    assert.ok(agreement(agentRef, agent) > agreement(callerRef, agent), `channel 1 is the agent: ${shown}`);
    for (const final of finals(0)) assert.equal(final.speaker, "customer");
    for (const final of finals(1)) {
      assert.equal(final.speaker, "agent");
      assert.ok((final.start_ms as number) >= AGENT_START_MS, `agent final at ${final.start_ms} ms`);
    }
    const ids = (messages: readonly Received[]) => messages.map((m) => m.segment_id);
    assert.deepEqual(
      ids(finals(0)),
      finals(0).map((_, i) => i),
    );
    assert.deepEqual(
      ids(finals(1)),
      finals(1).map((_, i) => i),
    );
  });
});
