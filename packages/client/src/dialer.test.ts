import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ConnectionEnd, Established, Handshake } from "./connection.js";
import { Credentials, type TokenProvider } from "./credentials.js";
import { Dialer, type DialerHandlers } from "./dialer.js";
import { EarshotClientError } from "./errors.js";
import type { TransportFactory, TransportHandlers, TransportRequest } from "./transport.js";

const URL = "ws://127.0.0.1:1/v1/audio/transcriptions/stream";
const START: Handshake = { kind: "start", config: () => '{"type":"config"}' };
const STARTED = JSON.stringify({
  type: "session_started",
  protocol_version: 1,
  session_id: "s",
  config: {},
  resume_token: "rt_1",
});

/** A transport factory that opens nothing: it records each request and hands the test its handlers. */
function fakeTransports() {
  const opened: { request: TransportRequest; handlers: TransportHandlers; sent: (string | Uint8Array)[] }[] = [];
  const factory: TransportFactory = (request, handlers) => {
    const entry = { request, handlers, sent: [] as (string | Uint8Array)[] };
    opened.push(entry);
    return {
      bufferedAmount: 0,
      send: (data) => entry.sent.push(data),
      close: (code = 1000, reason = "") => queueMicrotask(() => handlers.close(code, reason)),
    };
  };
  return { opened, factory };
}

function dialer(credential: { apiKey?: string; token?: string | TokenProvider } = { apiKey: "key" }) {
  const { opened, factory } = fakeTransports();
  const credentials = new Credentials(credential.apiKey, credential.token);
  const seen = { established: [] as Established[], ended: [] as ConnectionEnd[], failed: [] as EarshotClientError[] };
  const handlers: DialerHandlers = {
    established: (_, established) => seen.established.push(established),
    message: () => {},
    error: () => {},
    ended: (end) => seen.ended.push(end),
    failed: (error) => seen.failed.push(error),
  };
  const dial = new Dialer(URL, credentials, { transport: factory, connectTimeoutMs: 200 }, handlers);
  return { dial, opened, credentials, seen };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("Dialer", () => {
  test("a start goes to the stream URL, a resume to the resume URL, with the API key", () => {
    const { dial, opened } = dialer();
    dial.dial(START);
    dial.dial({ kind: "resume", token: "rt_9", lastSegmentIds: [2], lastFinalEndSample: 0, config: START.config });
    assert.deepEqual(
      opened.map((o) => o.request),
      [
        { url: URL, apiKey: "key" },
        { url: `${URL}?resume_token=rt_9`, apiKey: "key" },
      ],
    );
  });

  test("passes on the current connection's events, and marks the credential as proven", async () => {
    const { dial, opened, credentials, seen } = dialer({ token: async () => "est_fresh" });
    dial.dial(START);
    await tick();
    const [transport] = opened;
    assert.equal(transport?.request.apiKey, "est_fresh");
    transport?.handlers.open();
    assert.deepEqual(transport?.sent, ['{"type":"config"}']);
    transport?.handlers.message(STARTED);
    assert.equal(seen.established[0]?.kind, "started");
    assert.ok(dial.current);
    // A refusal of a token that worked asks the provider again.
    assert.equal(credentials.refused(), true);
    transport?.handlers.close(1006, "gone");
    assert.equal(seen.ended[0]?.code, 1006);
    assert.equal(dial.current, undefined);
  });

  test("a dropped connection's end is not reported", async () => {
    const { dial, opened, seen } = dialer();
    dial.dial(START);
    dial.drop(new EarshotClientError("close_timeout", "gave up"));
    assert.equal(dial.current, undefined);
    await tick();
    opened[0]?.handlers.close(1006, "late");
    assert.deepEqual(seen.ended, []);
  });

  test("a failing token provider is reported as failed; once stopped, a late token opens nothing", async () => {
    const failing = dialer({
      token: () => {
        throw new Error("backend down");
      },
    });
    failing.dial.dial(START);
    await tick();
    assert.equal(failing.opened.length, 0);
    assert.equal(failing.seen.failed[0]?.code, "connection_failed");

    let give: (token: string) => void = () => {};
    const late = dialer({ token: () => new Promise<string>((resolve) => (give = resolve)) });
    late.dial.dial(START);
    late.dial.stop();
    give("est_late");
    await tick();
    assert.equal(late.opened.length, 0);
    assert.deepEqual(late.seen.failed, []);
  });
});
