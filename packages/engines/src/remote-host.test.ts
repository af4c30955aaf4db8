import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type EngineEvent, EngineUnavailableError } from "./contract.js";
import { RemoteHost, type StreamReply, type StreamRequest } from "./remote-host.js";
import { type DecodedEvent, RemoteStream } from "./remote-stream.js";

type Open = { readonly type: "open"; readonly streamId: number };

/** A far side that is a list of sent messages; the test answers for it. */
class FakeHost extends RemoteHost<RemoteStream, Open> {
  readonly sent: Array<Open | StreamRequest> = [];
  shutdowns = 0;
  readonly exit: () => void;

  constructor(onCrash: () => void) {
    let exit = () => {};
    super({ engine: "fake", host: "fake host" }, new Promise((resolve) => (exit = resolve)), onCrash);
    this.exit = exit;
  }

  reply(reply: StreamReply<DecodedEvent>): void {
    this.route(reply);
  }

  die(error: Error): void {
    this.crash(error);
  }

  protected override send(message: Open | StreamRequest): void {
    this.sent.push(message);
  }

  protected override shutdown(): void {
    this.shutdowns += 1;
  }
}

async function drain(stream: RemoteStream): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

async function openOn(host: FakeHost, id: number): Promise<RemoteStream> {
  const stream = new RemoteStream(
    host.streamTransport(id, () => {}),
    id,
    0,
  );
  const opening = host.open(stream, { type: "open", streamId: id });
  host.reply({ type: "opened", streamId: id });
  await opening;
  return stream;
}

describe("RemoteHost", () => {
  test("an open is sent and resolves once the far side has opened the stream", async () => {
    const host = new FakeHost(() => {});
    const stream = new RemoteStream(
      host.streamTransport(1, () => {}),
      1,
      0,
    );
    const opening = host.open(stream, { type: "open", streamId: 1 });
    assert.deepEqual(host.sent, [{ type: "open", streamId: 1 }]);
    assert.equal(host.openingCount, 1);
    host.reply({ type: "opened", streamId: 1 });
    await opening;
    assert.equal(host.openingCount, 0);
    assert.equal(host.streamCount, 1);
  });

  test("a refused open rejects with EngineUnavailableError and the far side's reason", async () => {
    const host = new FakeHost(() => {});
    const opening = host.open(
      new RemoteStream(
        host.streamTransport(1, () => {}),
        1,
        0,
      ),
      { type: "open", streamId: 1 },
    );
    host.reply({ type: "open-failed", streamId: 1, message: "no decoder" });
    await assert.rejects(opening, (error: Error) => {
      assert.ok(error instanceof EngineUnavailableError);
      assert.equal(error.message, "fake cannot open a stream: no decoder");
      return true;
    });
    assert.equal(host.streamCount, 0);
  });

  test("events and the end go to their stream", async () => {
    const host = new FakeHost(() => {});
    const a = await openOn(host, 1);
    const b = await openOn(host, 2);
    host.reply({ type: "event", streamId: 2, event: { type: "endpoint", atMs: 40 } });
    host.reply({ type: "event", streamId: 9, event: { type: "endpoint", atMs: 1 } });
    host.reply({ type: "ended", streamId: 2 });
    assert.deepEqual(await drain(b), [{ type: "endpoint", atMs: 40 }]);
    assert.equal(host.streamCount, 1);
    a.close();
    assert.equal(host.streamCount, 0);
  });

  test("a stream's transport sends flush, end and close for it; close stops routing to it", async () => {
    const host = new FakeHost(() => {});
    const pushed: number[] = [];
    const transport = host.streamTransport(3, (pcm) => pushed.push(pcm.length));
    transport.push(new Int16Array(160));
    transport.flush(250);
    transport.flush(undefined);
    transport.end();
    const stream = await openOn(host, 4);
    host.streamTransport(4, () => {}).close();
    host.reply({ type: "event", streamId: 4, event: { type: "endpoint", atMs: 1 } });
    stream.ended();
    assert.deepEqual(pushed, [160]);
    assert.deepEqual(host.sent.slice(0, 3), [
      { type: "flush", streamId: 3, pauseAtMs: 250 },
      { type: "flush", streamId: 3 },
      { type: "end", streamId: 3 },
    ]);
    assert.deepEqual(host.sent.at(-1), { type: "close", streamId: 4 });
    assert.equal(host.streamCount, 0);
    assert.deepEqual(await drain(stream), []);
  });

  test("a crash fails every stream and open with its error, once, and the host is told", async () => {
    let crashes = 0;
    const host = new FakeHost(() => crashes++);
    const stream = await openOn(host, 1);
    const opening = host.open(
      new RemoteStream(
        host.streamTransport(2, () => {}),
        2,
        0,
      ),
      { type: "open", streamId: 2 },
    );
    const error = new EngineUnavailableError("fake host crashed: signal SIGKILL");
    host.die(error);
    host.die(new EngineUnavailableError("again"));
    assert.equal(crashes, 1);
    assert.equal(host.alive, false);
    await assert.rejects(opening, /signal SIGKILL/);
    assert.deepEqual(await drain(stream), [{ type: "error", error }]);
    const sent = host.sent.length;
    host.post({ type: "end", streamId: 1 });
    assert.equal(host.sent.length, sent);
    await assert.rejects(
      host.open(
        new RemoteStream(
          host.streamTransport(3, () => {}),
          3,
          0,
        ),
        { type: "open", streamId: 3 },
      ),
      {
        message: "fake host is not running",
      },
    );
  });

  test("stop fails the streams as closed, shuts the far side down once and resolves when it has exited", async () => {
    let crashes = 0;
    const host = new FakeHost(() => crashes++);
    const stream = await openOn(host, 1);
    let stopped = false;
    const stopping = host.stop().then(() => {
      stopped = true;
    });
    const again = host.stop();
    assert.equal(host.shutdowns, 1);
    const [event] = await drain(stream);
    assert.ok(event?.type === "error" && event.error instanceof EngineUnavailableError);
    assert.equal(event.error.message, "fake engine closed");
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false);
    host.exit();
    await Promise.all([stopping, again]);
    host.die(new Error("exit after stop"));
    assert.equal(crashes, 0);
  });

  test("stop after a crash only waits for the exit", async () => {
    const host = new FakeHost(() => {});
    host.die(new Error("gone"));
    host.exit();
    await host.stop();
    assert.equal(host.shutdowns, 0);
  });
});
