import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import type { ClientSession } from "./client-session.js";
import { silentLogger } from "./logger.js";
import { NodeDrain } from "./node-drain.js";
import { SessionRegistry } from "./session-registry.js";

/** A session as the drain sees it: it ends when handed off (after `endsAfterMs`), or only at the bound. */
function fakeSession(registry: SessionRegistry, name: string, endsAfterMs: number | "at_bound", asked: string[]) {
  const session = {
    id: name,
    resumeToken: `rt_${name}`,
    finished: false,
    waiting: false,
    handOff: () => {
      asked.push(`${name}: handOff`);
      if (endsAfterMs !== "at_bound") setTimeout(() => registry.hooks.onClosed(session), endsAfterMs);
    },
    handOffNow: () => {
      asked.push(`${name}: handOffNow`);
      registry.hooks.onClosed(session);
    },
  } as unknown as ClientSession;
  registry.add(session, "key");
  return session;
}

const newRegistry = () =>
  new SessionRegistry({ maxStreamsPerKey: 64, maxWaitingDecodersPerKey: 8, log: silentLogger() });

describe("NodeDrain", () => {
  it("hands every session off once, moves those left at the bound, then resolves drained", async () => {
    const sessions = newRegistry();
    const asked: string[] = [];
    fakeSession(sessions, "quick", 20, asked);
    fakeSession(sessions, "endless", "at_bound", asked);
    const drain = new NodeDrain({ sessions, cluster: undefined, log: silentLogger(), timeoutMs: 300 });
    const metrics = new Registry();
    drain.defineMetrics(metrics);
    assert.equal(drain.draining, false);
    const drained = drain.start("admin");
    assert.equal(drain.start("signal"), drained, "a second start joins the first");
    assert.equal(drain.draining, true);
    await new Promise((resolve) => setTimeout(resolve, 150));
    let text = await metrics.metrics();
    assert.match(text, /^earshot_draining 1$/m);
    assert.match(text, /^earshot_drain_sessions_total\{moved="before_bound"\} 1$/m);
    await drained;
    await drain.drained;
    assert.equal(drain.state, "drained");
    assert.deepEqual(asked, ["quick: handOff", "endless: handOff", "endless: handOffNow"]);
    text = await metrics.metrics();
    assert.match(text, /^earshot_drain_sessions_total\{moved="before_bound"\} 1$/m);
    assert.match(text, /^earshot_drain_sessions_total\{moved="at_bound"\} 1$/m);
  });

  it("waits for a request in flight (a file transcription)", async () => {
    const drain = new NodeDrain({
      sessions: newRegistry(),
      cluster: undefined,
      log: silentLogger(),
      timeoutMs: 10_000,
    });
    let finish: () => void = () => {};
    const request = drain.whileRequest(() => new Promise<string>((resolve) => (finish = () => resolve("done"))));
    const drained = drain.start("signal");
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(drain.state, "draining");
    finish();
    assert.equal(await request, "done");
    await drained;
    assert.equal(drain.state, "drained");
  });

  it("with no session, is drained at once", async () => {
    const drain = new NodeDrain({
      sessions: newRegistry(),
      cluster: undefined,
      log: silentLogger(),
      timeoutMs: 10_000,
    });
    await drain.start("signal");
    assert.equal(drain.state, "drained");
  });
});
