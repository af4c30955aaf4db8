/**
 * Issue 13's finding, exactly: one unauthenticated `GET //[ HTTP/1.1` (a target Node's parser lets
 * through but `new URL()` throws on) ended `earshot serve`, and every stream on it. Against a real
 * server process: the request, and the same target as a WebSocket upgrade, get 400 `bad_request`,
 * and the process is still alive and serving a stream.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ERRORS } from "@earshot/protocol";
import { rawHttp } from "../helpers/raw-http.js";
import { killAllServers, type ServeProcess, serveTestEngine } from "../helpers/serve-process.js";
import { bursts, toBytes } from "../helpers/signals.js";
import { WireClient } from "../helpers/ws-client.js";

const KEY = "regression-key";

const REQUEST = "GET //[ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
const UPGRADE =
  "GET //[ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${KEY}\r\n\r\n`;

/** The process runs, answers /healthz, and transcribes a stream. */
async function assertServing(served: ServeProcess): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200)); // a crash would have ended it by now
  assert.equal(served.process.exitCode, null, "the server process exited");
  assert.equal(served.process.signalCode, null, "the server process was killed");
  assert.equal((await fetch(`${served.url}/healthz`)).status, 200);
  const client = await WireClient.open(served.url, KEY);
  client.sendJson({ type: "config", config: { language: "en" } });
  await client.waitFor((m) => m.type === "session_started");
  client.sendBinary(toBytes(bursts([{ toneMs: 600, silenceMs: 800 }])));
  client.sendJson({ type: "close_stream" });
  await client.waitFor((m) => m.type === "stream_closed");
  assert.deepEqual(
    client.finals().map((m) => [m.start_ms, m.end_ms]),
    [[0, 600]],
  );
  assert.equal((await client.closed).code, 1000);
}

describe("GET //[ HTTP/1.1 (issue 13)", () => {
  after(killAllServers);

  for (const [name, request] of [
    ["as a request", REQUEST],
    ["as a WebSocket upgrade", UPGRADE],
  ] as const) {
    it(`${name}: 400 bad_request, and the server process lives and serves`, { timeout: 30_000 }, async () => {
      const served = await serveTestEngine(0, KEY);
      const answer = await rawHttp(served.port, Buffer.from(request, "latin1"));
      if (answer.ending !== "answered") {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const { exitCode, signalCode } = served.process;
        assert.fail(
          `no HTTP answer (${answer.ending}); the server process: exit code ${exitCode}, signal ${signalCode}`,
        );
      }
      assert.equal(answer.status, 400);
      assert.match(answer.headers["content-type"] ?? "", /^application\/json/);
      const body = JSON.parse(answer.body.toString("utf8")) as { code: string; message: string; retryable: boolean };
      assert.equal(body.code, "bad_request");
      assert.equal(body.retryable, ERRORS.bad_request.retryable);
      assert.ok(body.message.length > 0);
      await assertServing(served);
      served.process.kill("SIGKILL");
    });
  }
});
