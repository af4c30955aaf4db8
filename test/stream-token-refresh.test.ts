/**
 * A stream authenticated by a stream token across a real server restart (`earshot serve` killed with
 * SIGKILL and started again on the same port; tokens live in its memory, so the restarted one knows
 * none). With a token provider the SDK fetches a fresh token when the dead one is refused and the
 * stream goes on in a new session with nothing lost; with a plain token the stream ends with a
 * typed `invalid_token` instead of reconnecting forever. Both with the Node transport (which reads
 * the 401) and the browser transport over `ws` (which cannot, and probes the server over HTTP).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  browserTransport,
  type EarshotClientOptions,
  mintStreamToken,
  nodeTransport,
  type TransportFactory,
  type WebSocketConstructorLike,
} from "@earshot/client";
import WebSocket from "ws";
import { waitUntil } from "./helpers/http-probe.js";
import { sleep, startRun } from "./helpers/sdk-run.js";
import { kill9, killAllServers, type ServeProcess, serveTestEngine } from "./helpers/serve-process.js";
import { bursts } from "./helpers/signals.js";

const KEY = "token-refresh-key";
const SIGNAL = bursts([
  { toneMs: 600, silenceMs: 600 },
  { toneMs: 600, silenceMs: 600 },
]);
const HALF = SIGNAL.length / 2;

after(killAllServers);

const TRANSPORTS: Record<string, TransportFactory> = {
  node: nodeTransport,
  browser: browserTransport(WebSocket as unknown as WebSocketConstructorLike),
};

/** Streams the first utterance, restarts the server, streams the second. */
async function acrossRestart(transport: TransportFactory, token: EarshotClientOptions["token"], served: ServeProcess) {
  const run = startRun({
    url: served.url,
    ...(typeof token === "function" ? { token } : { token: token ?? (await mintStreamToken(served.url, KEY)).token }),
    config: { model: "test" },
    transport,
    reconnect: { baseDelayMs: 50, maxDelayMs: 200 },
    heartbeatTimeoutMs: 1000,
    closeTimeoutMs: 15_000,
  });
  await run.client.connect();
  run.client.send(SIGNAL.subarray(0, HALF));
  await waitUntil(() => run.finals.length === 1, "the first final");
  await kill9(served);
  const restarted = await serveTestEngine(served.port, KEY);
  if (run.client.state !== "closed") run.client.send(SIGNAL.subarray(HALF));
  return { run, restarted };
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`stream token across a server restart (${name} transport)`, { timeout: 30_000 }, () => {
    it("a token provider mints a fresh token; the stream goes on in a new session, nothing lost", async () => {
      const served = await serveTestEngine(0, KEY);
      let minted = 0;
      const provider = async () => {
        minted += 1;
        return (await mintStreamToken(served.url, KEY, { ttlSeconds: 60 })).token;
      };
      const { run, restarted } = await acrossRestart(transport, provider, served);
      const result = await run.client.close();
      await kill9(restarted);

      assert.equal(result.code, 1000);
      assert.equal(result.lostMs, 0);
      assert.deepEqual(
        run.finals.map((f) => f.text),
        ["alpha bravo charlie", "golf hotel india"],
      );
      assert.equal(minted, 2, "one token for the first session, one after the restart");
      assert.equal(run.sessions.length, 2);
      const refused = run.states.filter((s) => s.to === "reconnecting" && s.error?.code === "invalid_token");
      assert.equal(refused.length, 1, "the dead token was refused once, then replaced");
      assert.deepEqual(
        run.errors.map((e) => e.code),
        [],
      );
    });

    it("a plain token ends the stream with invalid_token instead of reconnecting forever", async () => {
      const served = await serveTestEngine(0, KEY);
      const { run, restarted } = await acrossRestart(transport, undefined, served);
      await waitUntil(() => run.client.state === "closed", "the client gives up", 10_000);
      // Nothing more happens: no further attempt after the terminal error.
      const attempts = run.states.filter((s) => s.to === "reconnecting").length;
      await sleep(300);
      assert.equal(run.states.filter((s) => s.to === "reconnecting").length, attempts);
      await kill9(restarted);

      assert.deepEqual(
        run.errors.map((e) => e.code),
        ["invalid_token"],
      );
      const closed = run.states.at(-1);
      assert.equal(closed?.to, "closed");
      assert.equal(closed?.error?.code, "invalid_token");
      assert.equal(run.finals.length, 1);
      const result = await run.client.close();
      assert.ok(result.lostMs > 0, "the audio after the first final never got its finals");
    });
  });
}
