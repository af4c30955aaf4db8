import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type AudioLink, type AudioLoss, AudioSender, type AudioSenderOptions } from "./audio-sender.js";

const ramp = (from: number, length: number) => Int16Array.from({ length }, (_, i) => 1 + ((from + i) % 30_000));

/** What a connection received: audio samples in order and control messages with their positions. */
class RecordingLink implements AudioLink {
  bufferedAmount = 0;
  readonly samples: number[] = [];
  readonly frames: number[] = [];
  readonly controls: string[] = [];
  send(data: string | Uint8Array): void {
    if (typeof data === "string") {
      const message = JSON.parse(data) as { type: string; audio?: string };
      if (message.audio === undefined) this.controls.push(`${message.type}@${this.samples.length}`);
      else this.#audio(new Int16Array(Uint8Array.from(Buffer.from(message.audio, "hex")).buffer));
    } else this.#audio(new Int16Array(data.slice().buffer));
  }
  #audio(pcm: Int16Array): void {
    this.frames.push(pcm.length);
    this.samples.push(...pcm);
  }
}

function sender(options: Partial<AudioSenderOptions> = {}) {
  const lost: AudioLoss[] = [];
  let drains = 0;
  const s = new AudioSender({
    mode: "binary",
    chunkSamples: 160,
    overlapSamples: 0,
    maxBufferedSamples: 1600,
    maxBufferedBytes: 1024,
    onDrain: () => drains++,
    onLost: (loss) => lost.push(loss),
    ...options,
  });
  return { s, lost, drains: () => drains };
}

describe("AudioSender", () => {
  test("audio captured with no connection is kept and goes out on attach, in chunks", () => {
    const { s, lost, drains } = sender();
    assert.equal(s.append(ramp(0, 1000)), false);
    assert.equal(s.backlogSamples, 1000);
    const link = new RecordingLink();
    s.attach(link, 0);
    assert.deepEqual(link.samples, [...ramp(0, 960)], "the last 40 samples wait in the chunker");
    assert.ok(link.frames.every((n) => n === 160));
    assert.equal(s.backlogSamples, 0);
    assert.equal(drains(), 1);
    assert.deepEqual(lost, []);
  });

  test("overflow while disconnected: unsent audio evicted is reported at once, exactly", () => {
    const { s, lost } = sender();
    s.append(ramp(0, 1600));
    s.append(ramp(1600, 480));
    assert.deepEqual(lost, [{ lostMs: 30, fromSample: 0, toSample: 480 }]);
    assert.equal(s.lostSamples, 480);
  });

  test("a replay from before the buffer sends silence for the gap, reported once with earlier losses", () => {
    const { s, lost } = sender();
    const first = new RecordingLink();
    s.attach(first, 0);
    s.append(ramp(0, 800)); // sent
    s.detach();
    s.append(ramp(800, 1600)); // evicts [0, 800): sent, so only at risk
    assert.deepEqual(lost, []);
    s.append(ramp(2400, 160)); // evicts [800, 960): never sent, certainly lost
    assert.deepEqual(lost, [{ lostMs: 10, fromSample: 800, toSample: 960 }]);
    // the server had only 320 samples: [320, 800) is lost too, [800, 960) was already reported
    const second = new RecordingLink();
    s.attach(second, 320);
    assert.deepEqual(lost.at(-1), { lostMs: 30, fromSample: 320, toSample: 800 });
    assert.equal(s.lostSamples, 640);
    assert.equal(second.samples.length, 2560 - 320);
    assert.ok(
      second.samples.slice(0, 640).every((v) => v === 0),
      "silence keeps the stream's clock",
    );
    assert.deepEqual(second.samples.slice(640), [...ramp(960, 1600)]);
  });

  test("release never drops unsent audio", () => {
    const { s } = sender();
    s.append(ramp(0, 500));
    s.release(400);
    assert.equal(s.buffer.startSample, 0);
    const link = new RecordingLink();
    s.attach(link, 0);
    s.release(400);
    assert.equal(s.buffer.startSample, 400);
  });

  test("a backed-up socket holds audio back; the pump retries and drains", async () => {
    const { s, drains } = sender();
    const link = new RecordingLink();
    link.bufferedAmount = 4096;
    s.attach(link, 0);
    assert.equal(s.append(ramp(0, 320)), false);
    assert.equal(link.samples.length, 0);
    link.bufferedAmount = 0;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(link.samples, [...ramp(0, 320)]);
    assert.equal(drains(), 1);
    s.detach();
  });

  test("finalize and close_stream go out after their audio, and again after a replay from before them", () => {
    const { s } = sender();
    const first = new RecordingLink();
    s.attach(first, 0);
    s.append(ramp(0, 200));
    s.finalize();
    s.append(ramp(200, 100));
    s.closeStream();
    assert.deepEqual(first.controls, ["finalize@200", "close_stream@300"]);
    assert.deepEqual(first.samples, [...ramp(0, 300)]);
    const second = new RecordingLink();
    s.attach(second, 200);
    assert.deepEqual(second.controls, ["finalize@0", "close_stream@100"], "a finalize at the resume point is repeated");
    const third = new RecordingLink();
    s.attach(third, 250);
    assert.deepEqual(third.controls, ["close_stream@50"]);
  });

  test("seed mode: overlapping hex chunks, but none before the first chunk of a new connection", () => {
    const { s } = sender({ mode: "seed", overlapSamples: 32 });
    const first = new RecordingLink();
    s.attach(first, 0);
    s.append(ramp(0, 480));
    assert.deepEqual(first.frames, [160, 192, 192]);
    const second = new RecordingLink();
    s.attach(second, 320);
    s.append(ramp(480, 160));
    assert.deepEqual(second.frames, [160, 192]);
    assert.deepEqual(second.samples.slice(0, 160), [...ramp(320, 160)]);
  });
});

describe("AudioSender with two channels", () => {
  test("chunks of whole frames; attach at a frame position; audio evicted before it goes as silent frames", () => {
    const { s, lost } = sender({ channels: 2, chunkSamples: 100, maxBufferedSamples: 400 });
    // 500 frames while disconnected: the first 100 are evicted, unsent.
    s.append(ramp(0, 1000));
    assert.deepEqual(lost, [{ lostMs: 6.25, fromSample: 0, toSample: 100 }]);
    const link = new RecordingLink();
    s.attach(link, 50);
    s.closeStream();
    assert.ok(
      link.frames.every((n) => n % 2 === 0 && n <= 200),
      `messages of whole frames: ${link.frames.join(",")}`,
    );
    assert.deepEqual(
      link.samples,
      [...new Array(100).fill(0), ...ramp(200, 800)],
      "50 silent frames, then frames 100..499",
    );
    assert.deepEqual(link.controls, ["close_stream@900"]);
  });
});
