import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CallEventMessage, TranscriptMessage } from "@earshot/protocol";
import { Call, type CallSink } from "./call.js";

class Sink implements CallSink {
  readonly key: string;
  readonly messages: CallEventMessage[] = [];
  ended = false;
  refused = false;

  constructor(key = "k") {
    this.key = key;
  }

  send(message: CallEventMessage): void {
    this.messages.push(message);
  }

  end(): void {
    this.ended = true;
  }

  refuse(): void {
    this.refused = true;
  }

  cursors(): (number | undefined)[] {
    return this.messages.map((m) => ("cursor" in m ? m.cursor : undefined));
  }
}

const START = {
  call_sid: "CA1",
  stream_sid: "MZ1",
  account_sid: "AC1",
  channels: [],
  custom_parameters: {},
};

function transcript(segment: number, isFinal: boolean): TranscriptMessage {
  return {
    type: "transcript",
    is_final: isFinal,
    text: `s${segment}`,
    segment_id: segment,
    start_ms: 0,
    end_ms: 1,
    language: "en",
  };
}

describe("Call", () => {
  it("numbers start, finals and end with cursors; partials carry none", () => {
    const call = new Call("CA1");
    const sink = new Sink();
    call.subscribe(sink, 0);
    call.start(START, undefined);
    call.transcript(0, "customer", transcript(0, false));
    call.transcript(0, "customer", transcript(0, true));
    call.transcript(1, "agent", transcript(0, true));
    call.end("stopped", 1234);
    assert.deepEqual(sink.cursors(), [1, undefined, 2, 3, 4]);
    assert.ok(sink.ended);
    assert.equal(call.firstSegmentId(0), 1);
    assert.equal(call.firstSegmentId(1), 1);
  });

  it("gives a later subscriber every kept message after its cursor, then the live ones, once", () => {
    const call = new Call("CA1");
    call.start(START, undefined);
    call.transcript(0, "customer", transcript(0, true));
    call.transcript(0, "customer", transcript(1, false));
    const late = new Sink();
    call.subscribe(late, 1);
    call.transcript(0, "customer", transcript(1, true));
    call.end("connection_lost", 10);
    assert.deepEqual(late.cursors(), [2, 3, 4]);
    const afterEnd = new Sink();
    call.subscribe(afterEnd, 0);
    assert.deepEqual(afterEnd.cursors(), [1, 2, 3, 4]);
    assert.ok(afterEnd.ended);
  });

  it("refuses a waiting subscriber of another key when the call starts for one key", () => {
    const call = new Call("CA1");
    const mine = new Sink("mine");
    const theirs = new Sink("theirs");
    call.subscribe(mine, 0);
    call.subscribe(theirs, 0);
    call.start(START, "mine");
    assert.ok(theirs.refused);
    assert.deepEqual(theirs.messages, []);
    assert.equal(mine.messages[0]?.type, "call_started");
    assert.ok(call.readableBy("mine") && !call.readableBy("theirs"));
  });

  it("a later stream of the same call continues its cursors and segment ids", () => {
    const first = new Call("CA1");
    first.start(START, undefined);
    first.transcript(1, "agent", transcript(4, true));
    first.end("stopped", 1);
    const second = new Call("CA1", undefined, first);
    const sink = new Sink();
    second.subscribe(sink, 3);
    second.start(START, undefined);
    assert.deepEqual(sink.cursors(), [4]);
    assert.equal(second.firstSegmentId(1), 5);
    assert.equal(second.firstSegmentId(0), 0);
  });
});
