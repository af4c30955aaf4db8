import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServerMessage, TranscriptMessage } from "@earshot/protocol";
import { OutboundQueue, type OutboundSocket, outboundLimits } from "./outbound-queue.js";

/** A socket whose buffer the test sets; writes complete when the test says so. */
class Socket implements OutboundSocket {
  bufferedAmount = 0;
  readonly sent: ServerMessage[] = [];
  readonly #pending: Array<() => void> = [];

  send(data: string, callback: (error?: Error) => void): void {
    this.sent.push(JSON.parse(data) as ServerMessage);
    this.#pending.push(() => callback());
  }

  /** The kernel took everything: the buffer is empty, every write completed. */
  drain(): void {
    this.bufferedAmount = 0;
    for (const complete of this.#pending.splice(0)) complete();
  }
}

const transcript = (segmentId: number, text: string, isFinal: boolean): TranscriptMessage => ({
  type: "transcript",
  is_final: isFinal,
  ...(isFinal ? { speech_final: true } : {}),
  text,
  segment_id: segmentId,
  start_ms: 0,
  end_ms: 200 * text.split(" ").length,
  language: "en",
});
const ack = (samples: number): ServerMessage => ({ type: "ack", received_samples: samples });
const describeMessage = (m: ServerMessage) =>
  m.type === "transcript"
    ? `${m.is_final ? "final" : "partial"} ${m.segment_id} ${m.text}`
    : m.type === "ack"
      ? `ack ${m.received_samples}`
      : m.type;

function setup(maxBytes = 64 * 1024) {
  const socket = new Socket();
  const counts = { overflow: 0, coalesced: 0, waitingBytes: 0 };
  const queue = new OutboundQueue(socket, outboundLimits(maxBytes), {
    overflow: () => counts.overflow++,
    coalesced: () => counts.coalesced++,
    waitingBytesChanged: (delta) => {
      counts.waitingBytes += delta;
    },
  });
  /** A write the peer has not taken yet fills the socket past the congestion mark. */
  const congest = () => {
    queue.send(ack(0));
    socket.bufferedAmount = outboundLimits(maxBytes).congestedBytes + 1;
  };
  return { socket, queue, counts, congest };
}

describe("OutboundQueue", () => {
  it("sends at once while the socket keeps up", () => {
    const { socket, queue, counts } = setup();
    queue.send(transcript(0, "alpha", false));
    queue.send(transcript(0, "alpha bravo", false));
    queue.send(ack(3200));
    queue.send(transcript(0, "alpha bravo", true));
    assert.deepEqual(socket.sent.map(describeMessage), [
      "partial 0 alpha",
      "partial 0 alpha bravo",
      "ack 3200",
      "final 0 alpha bravo",
    ]);
    assert.equal(counts.coalesced, 0);
  });

  it("congested: partials coalesce to the latest, the final drops it, the rest waits in order", () => {
    const { socket, queue, counts, congest } = setup();
    congest();
    queue.send(transcript(0, "alpha", false));
    queue.send(ack(3200));
    queue.send(transcript(0, "alpha bravo", false));
    queue.send(transcript(0, "alpha bravo charlie", false));
    assert.equal(counts.coalesced, 2);
    queue.send(transcript(0, "alpha bravo charlie delta", true));
    assert.equal(counts.coalesced, 3, "the final supersedes the waiting partial");
    queue.send(transcript(1, "echo", false));
    assert.deepEqual(socket.sent.map(describeMessage), ["ack 0"]);
    socket.drain();
    assert.deepEqual(socket.sent.map(describeMessage), [
      "ack 0",
      "ack 3200",
      "final 0 alpha bravo charlie delta",
      "partial 1 echo",
    ]);
    assert.equal(counts.waitingBytes, 0);
    assert.equal(queue.waitingBytes, 0);
  });

  it("a partial never goes out after the final of its segment, nor a final before an earlier partial's segment ends", () => {
    const { socket, queue, congest } = setup();
    congest();
    queue.send(transcript(4, "foxtrot", false));
    // Not expected from a session (segment 4 ends with its final first), but order holds anyway.
    queue.send(transcript(5, "golf", true));
    socket.drain();
    assert.deepEqual(socket.sent.map(describeMessage), ["ack 0", "partial 4 foxtrot", "final 5 golf"]);
  });

  it("congested, with channels (a call): partials coalesce per channel, never across", () => {
    const { socket, queue, counts, congest } = setup();
    const tagged = (channel: number, segmentId: number, text: string, isFinal: boolean) =>
      ({ ...transcript(segmentId, text, isFinal), channel }) as ServerMessage;
    congest();
    queue.send(tagged(0, 0, "alpha", false));
    queue.send(tagged(1, 0, "kilo", false));
    queue.send(tagged(0, 0, "alpha bravo", false));
    queue.send(tagged(1, 0, "kilo lima", false));
    assert.equal(counts.coalesced, 2, "each channel's older partial, not the other's");
    queue.send(tagged(1, 0, "kilo lima mike", true));
    assert.equal(counts.coalesced, 3);
    socket.drain();
    assert.deepEqual(socket.sent.map(describeMessage), ["ack 0", "partial 0 alpha bravo", "final 0 kilo lima mike"]);
    assert.deepEqual(
      socket.sent.slice(1).map((m) => (m as TranscriptMessage & { channel: number }).channel),
      [0, 1],
    );
  });

  it("too far behind: overflow once, when waiting bytes and the socket's pass the limit", () => {
    const { socket, queue, counts, congest } = setup(4096);
    congest();
    let sent = 0;
    while (counts.overflow === 0) {
      queue.send(ack(++sent * 4000));
      assert.ok(sent < 200);
    }
    // ~45 bytes an ack; the socket holds a quarter of the limit (1024 + 1).
    assert.ok(sent > 50 && sent < 80, `${sent} acks`);
    for (let i = 0; i < 100; i++) queue.send(ack(i));
    assert.equal(counts.overflow, 1);
    queue.clear();
    assert.equal(counts.waitingBytes, 0);
    socket.drain();
    assert.deepEqual(socket.sent.map(describeMessage), ["ack 0"]);
  });

  it("redelivered finals wait without counting toward the limit", () => {
    const { socket, queue, counts, congest } = setup(4096);
    congest();
    const long = Array.from({ length: 200 }, () => "alpha").join(" ");
    for (let id = 0; id < 10; id++) queue.send(transcript(id, long, true), true);
    assert.equal(counts.overflow, 0);
    assert.equal(queue.waitingBytes, 0);
    queue.send(ack(1600));
    socket.drain();
    assert.deepEqual(
      socket.sent.map((m) => (m.type === "transcript" ? m.segment_id : describeMessage(m))),
      ["ack 0", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, "ack 1600"],
    );
  });

  it("stalled: how long a write has waited for the peer; zero once everything was written", () => {
    const { socket, queue } = setup();
    const before = Date.now();
    assert.equal(queue.stalledMs(before + 10_000), 0);
    queue.send(ack(1600));
    assert.ok(queue.stalledMs(before + 10_000) >= 10_000 - (Date.now() - before));
    socket.drain();
    assert.equal(queue.stalledMs(Date.now() + 10_000), 0);
  });

  it("flush hands everything to the socket, congested or not; nothing is sent after close", () => {
    const { socket, queue, congest } = setup();
    congest();
    queue.send(ack(1600));
    queue.send(transcript(0, "alpha", false));
    queue.send({ type: "error", code: "server_shutting_down", message: "bye", retryable: true });
    queue.flush();
    queue.close();
    queue.send(ack(3200));
    assert.deepEqual(socket.sent.map(describeMessage), ["ack 0", "ack 1600", "partial 0 alpha", "error"]);
  });
});
