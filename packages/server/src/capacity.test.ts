import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import type { AdmissionOptions } from "./admission.js";
import { Capacity, type HeldSessions } from "./capacity.js";
import { silentLogger } from "./logger.js";
import type { ReleaseReason } from "./session.js";
import { memoryMaxStreams } from "./stream-budget.js";

/** Decoders held per key, of which some by sessions waiting for a resume; releases are recorded. */
class Held implements HeldSessions {
  readonly decoders = new Map<string, { held: number; waiting: number }>();
  backlogMs = 0;
  readonly releases: { key: string | undefined; count: number; reason: ReleaseReason }[] = [];

  constructor(perKey: Record<string, { held: number; waiting: number }>) {
    for (const [key, counts] of Object.entries(perKey)) this.decoders.set(key, { ...counts });
  }

  readonly heldStreams = (key?: string): number =>
    [...this.decoders].reduce((sum, [k, counts]) => sum + (key === undefined || k === key ? counts.held : 0), 0);
  readonly waitingDecoders = (): number => [...this.decoders.values()].reduce((sum, c) => sum + c.waiting, 0);
  maxBacklogMs(): number {
    return this.backlogMs;
  }

  releaseWaitingDecoders(key: string | undefined, count: number, reason: ReleaseReason): void {
    this.releases.push({ key, count, reason });
    let left = count;
    for (const [k, counts] of this.decoders) {
      if (key !== undefined && k !== key) continue;
      const released = Math.max(0, Math.min(left, counts.waiting));
      counts.waiting -= released;
      counts.held -= released;
      left -= released;
    }
  }
}

function capacity(sessions: Held, admission: AdmissionOptions, maxStreamsPerKey = 64, engine = new TestEngine()) {
  return new Capacity({ engine, sessions, admission, cores: 2, maxStreamsPerKey, log: silentLogger() });
}

describe("Capacity", () => {
  it("takes admission.maxStreams, else derives the limit from the engine's stream memory", () => {
    const engine = new TestEngine({ streamMemoryBytes: 100 * 1024 * 1024 });
    assert.equal(capacity(new Held({}), {}, 64, engine).maxStreams, memoryMaxStreams(100 * 1024 * 1024));
    assert.equal(capacity(new Held({}), { maxStreams: 3 }, 64, engine).maxStreams, 3);
    assert.equal(capacity(new Held({}), {}).maxStreams, Number.POSITIVE_INFINITY);
  });

  it("refuses at maxStreams, and after_release counts the waiting sessions' decoders as free", () => {
    const held = new Held({ a: { held: 2, waiting: 1 } });
    const server = capacity(held, { maxStreams: 2 });
    assert.equal(server.refusal()?.reason, "max_streams");
    assert.equal(server.refusal("after_release"), undefined);
    held.decoders.set("a", { held: 1, waiting: 0 });
    assert.equal(server.refusal(), undefined);
  });

  it("admits a new session by taking back the key's waiting decoders first, the server's only when still full", () => {
    const held = new Held({ a: { held: 2, waiting: 1 }, b: { held: 1, waiting: 1 } });
    const server = capacity(held, { maxStreams: 3 }, 2);
    assert.equal(server.admitNewSession("a"), undefined);
    assert.deepEqual(held.releases, [{ key: "a", count: 1, reason: "key_budget" }]);
    assert.equal(held.heldStreams(), 2);

    const full = new Held({ a: { held: 1, waiting: 0 }, b: { held: 2, waiting: 2 } });
    assert.equal(capacity(full, { maxStreams: 3 }, 2).admitNewSession("a"), undefined);
    assert.deepEqual(full.releases, [
      { key: "a", count: 0, reason: "key_budget" },
      { key: undefined, count: 1, reason: "node_budget" },
    ]);
  });

  it("refuses a new session when no waiting session can give a decoder back", () => {
    const held = new Held({ a: { held: 2, waiting: 0 } });
    const refused = capacity(held, { maxStreams: 2 }).admitNewSession("b");
    assert.equal(refused?.reason, "max_streams");
    assert.match(refused?.message ?? "", /holds 2 streams; its limit is 2/);
  });

  it("reads the engine's load snapshot, and the sessions' backlog when the snapshot fails", () => {
    const held = new Held({});
    held.backlogMs = 1500;
    const fromSnapshot = capacity(held, { maxBacklogMs: 1000 });
    assert.equal(fromSnapshot.refusal(), undefined);
    assert.deepEqual([fromSnapshot.load().engineUtilization, fromSnapshot.load().maxBacklogMs], [0, 0]);

    const failing = Object.assign(new TestEngine(), {
      loadSnapshot: () => {
        throw new Error("snapshot failed");
      },
    });
    const fromSessions = capacity(held, { maxBacklogMs: 1000 }, 64, failing);
    assert.equal(fromSessions.refusal()?.reason, "backlog");
    assert.deepEqual([fromSessions.load().engineUtilization, fromSessions.load().maxBacklogMs], [undefined, 1500]);
  });
});
