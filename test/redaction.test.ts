/**
 * `redact` and `numerals` over a real socket. The test engine is given the ten digit words as its
 * vocabulary, so a tone burst starting at `t` ms is heard as digit `floor(t / 200) % 10`: the test
 * "reads" a card number by where it puts its bursts, and pauses long enough (endpointing 2 s) to
 * split the number over two finals. Nothing of it may reach the client, in partials or finals, nor
 * come back on a resume; without `redact` the same audio gives the digits (the test is not vacuous).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { type Burst, bursts, toBytes } from "./helpers/signals.js";
import { type Received, WireClient } from "./helpers/ws-client.js";

const KEY = "redaction-key";
const DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
/** A Luhn-valid card number, read as two halves with a pause between. */
const HALVES = ["42424242", "42424242"];
/** Silence that ends an utterance: longer than any gap the test puts between words of one half. */
const ENDPOINTING_MS = 2000;

/**
 * Bursts of 200 ms, each starting where the engine names the digit wanted (the next multiple of
 * 200 ms whose index ends in it); `pauseMs` of silence after each utterance, then 2 s of silence.
 */
function reading(utterances: readonly string[], pauseMs: number): Int16Array {
  const pattern: Burst[] = [{ toneMs: 0, silenceMs: 0 }];
  let atMs = 0;
  for (const utterance of utterances) {
    for (const digit of utterance) {
      let startMs = atMs;
      while ((startMs / 200) % 10 !== Number(digit)) startMs += 200;
      const last = pattern.at(-1) as Burst;
      pattern[pattern.length - 1] = { ...last, silenceMs: last.silenceMs + startMs - atMs };
      pattern.push({ toneMs: 200, silenceMs: 0 });
      atMs = startMs + 200;
    }
    const last = pattern.at(-1) as Burst;
    pattern[pattern.length - 1] = { ...last, silenceMs: last.silenceMs + pauseMs };
    atMs += pauseMs;
  }
  const last = pattern.at(-1) as Burst;
  pattern[pattern.length - 1] = { ...last, silenceMs: last.silenceMs + ENDPOINTING_MS };
  return bursts(pattern);
}

const transcripts = (client: WireClient) => client.messages.filter((m) => m.type === "transcript");
const texts = (messages: readonly Received[]) => messages.map((m) => `${m.segment_id}:${m.text}`);

describe("redaction over the socket", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new TestEngine({ vocabulary: DIGITS }), apiKeys: [KEY], resumeGraceMs: 5000 });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  async function stream(config: object): Promise<WireClient> {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { model: "test", endpointing_ms: ENDPOINTING_MS, ...config } });
    await client.waitFor((m) => m.type === "session_started");
    client.sendBinary(toBytes(reading(HALVES, ENDPOINTING_MS)));
    return client;
  }

  async function closed(client: WireClient): Promise<WireClient> {
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed");
    return client;
  }

  it("without redact, the audio reads as the card number, in two finals", async () => {
    const plain = await closed(await stream({}));
    assert.deepEqual(
      texts(plain.finals()),
      HALVES.map((half, i) => `${i}:${[...half].map((d) => DIGITS[Number(d)]).join(" ")}`),
    );
    const numerals = await closed(await stream({ numerals: true }));
    assert.deepEqual(texts(numerals.finals()), ["0:42424242", "1:42424242"]);
  });

  it("redact pci: a card number split over two finals never reaches the client, partial or final", async () => {
    const client = await closed(await stream({ redact: ["pci"] }));
    const started = client.messages.find((m) => m.type === "session_started");
    assert.deepEqual(
      (started?.config as { redact?: string[] } | undefined)?.redact,
      ["pci"],
      "session_started says so",
    );
    assert.deepEqual(texts(client.finals()), ["0:[REDACTED_PCI]", "1:[REDACTED_PCI]"]);
    const sent = transcripts(client);
    assert.ok(
      sent.some((m) => m.is_final === false),
      "partials were sent",
    );
    for (const message of sent) {
      const words = (message.words as Array<{ word: string }>).map((w) => w.word);
      assert.ok(
        [message.text as string, ...words].every((t) => !DIGITS.some((d) => t.includes(d)) && !/\d/.test(t)),
        `nothing of the number in ${JSON.stringify(message)}`,
      );
    }
    // Each final's token spans its half: from the first burst's start to the last's end.
    const [first, second] = client.finals().map((f) => (f.words as Array<{ start_ms: number; end_ms: number }>)[0]);
    assert.equal(first?.start_ms, 800, "the first burst, at 800 ms, is heard as four");
    assert.ok(first && second && first.end_ms < second.start_ms);
    // The utterance_end of a held final follows it.
    const order = client.messages.filter((m) => m.type === "utterance_end" || (m.type === "transcript" && m.is_final));
    assert.deepEqual(
      order.map((m) => `${m.type}:${m.segment_id}`),
      ["transcript:0", "utterance_end:0", "transcript:1", "utterance_end:1"],
    );
  });

  it("finals kept for a resume are the redacted ones", async () => {
    const client = await stream({ redact: ["pci"] });
    const started = client.messages.find((m) => m.type === "session_started");
    await client.waitFor((m) => m.type === "transcript" && m.is_final === true && m.segment_id === 0);
    client.ws.terminate();
    const again = await WireClient.open(url, KEY);
    again.sendJson({ type: "resume", resume_token: started?.resume_token, last_segment_id: -1 });
    await again.waitFor((m) => m.type === "session_resumed");
    await closed(again);
    assert.deepEqual(texts(again.finals()), ["0:[REDACTED_PCI]", "1:[REDACTED_PCI]"]);
  });

  it("refuses a redact it does not know with unsupported_redaction; the connection stays open", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { model: "test", redact: ["pci", "pii"] } });
    const error = await client.waitForError("unsupported_redaction");
    assert.match(error.message as string, /"pii"/);
    client.sendJson({ type: "config", config: { model: "test", redact: "pci" } });
    await client.waitForError("invalid_message");
    client.sendJson({ type: "config", config: { model: "test", redact: ["ssn"], numerals: true } });
    await client.waitFor((m) => m.type === "session_started");
    client.ws.close();
  });
});
