import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TranscriptAggregator } from "./aggregator.js";
import { MultichannelTranscript } from "./multichannel-transcript.js";
import { transcriptMessage } from "./transcript-message.test.helper.js";

const msg = (segmentId: number, isFinal: boolean, text: string, startMs: number) =>
  transcriptMessage(segmentId, isFinal, text.split(" "), startMs);

describe("MultichannelTranscript", () => {
  test("finals of every channel in time order, tagged; partials apart; repeated finals once", () => {
    const customer = new TranscriptAggregator();
    const agent = new TranscriptAggregator();
    const transcript = new MultichannelTranscript([customer, agent], ["customer", "agent"]);
    // Arrival order is not time order: the agent's stream was ahead.
    agent.add(msg(0, true, "hello how can i help", 0));
    agent.add(msg(1, true, "sure", 3000));
    customer.add(msg(0, true, "hi my card is lost", 1200));
    customer.add(msg(0, true, "hi my card is lost", 1200));
    customer.add(msg(1, false, "thank", 4000));
    assert.deepEqual(
      transcript.segments.map((s) => [s.speaker, s.channel, s.segmentId, s.text]),
      [
        ["agent", 1, 0, "hello how can i help"],
        ["customer", 0, 0, "hi my card is lost"],
        ["agent", 1, 1, "sure"],
      ],
    );
    assert.deepEqual(
      transcript.partials.map((s) => [s.speaker, s.text]),
      [["customer", "thank"]],
    );
    const words = transcript.finalWords;
    assert.deepEqual(
      words.slice(4, 8).map((w) => [w.channel, w.word]),
      [
        [1, "help"],
        [0, "hi"],
        [0, "my"],
        [0, "card"],
      ],
    );
    assert.equal(transcript.channel(0), customer);
    assert.throws(() => transcript.channel(2), RangeError);
  });

  test("without labels there is no speaker; a tie in time goes to the lower channel", () => {
    const a = new TranscriptAggregator();
    const b = new TranscriptAggregator();
    b.add(msg(0, true, "same time", 500));
    a.add(msg(0, true, "same time", 500));
    const segments = new MultichannelTranscript([a, b]).segments;
    assert.deepEqual(
      segments.map((s) => s.channel),
      [0, 1],
    );
    assert.equal("speaker" in (segments[0] as object), false);
  });
});
