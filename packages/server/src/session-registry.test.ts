import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLogger } from "./logger.js";
import type { ReleaseReason } from "./session.js";
import { type RegisteredSession, SessionRegistry } from "./session-registry.js";

/** A session as the registry sees it, driven by hand: it calls the registry's hooks as StreamSession does. */
class FakeSession implements RegisteredSession {
  readonly id: string;
  readonly resumeToken: string;
  waiting = false;
  waitingSince = 0;
  holdsDecoder = true;
  get decodersHeld(): number {
    return this.holdsDecoder ? 1 : 0;
  }
  finished = false;
  backlogMs = 0;
  expired = false;
  readonly releases: ReleaseReason[] = [];
  readonly #registry: SessionRegistry<FakeSession>;

  constructor(registry: SessionRegistry<FakeSession>, name: string) {
    this.#registry = registry;
    this.id = name;
    this.resumeToken = `rt_${name}`;
  }

  /** The connection dropped at `at`. */
  drop(at: number): void {
    this.waiting = true;
    this.waitingSince = at;
    this.#registry.hooks.onWaiting(this);
  }

  releaseDecoder(reason: ReleaseReason): boolean {
    if (!this.waiting || !this.holdsDecoder) return false;
    this.holdsDecoder = false;
    this.releases.push(reason);
    return true;
  }

  expire(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.holdsDecoder = false;
    this.expired = true;
    this.#registry.hooks.onClosed(this);
  }
}

function registry(maxStreamsPerKey = 64, maxWaitingDecodersPerKey = 4) {
  const sessions = new SessionRegistry<FakeSession>({
    maxStreamsPerKey,
    maxWaitingDecodersPerKey,
    log: silentLogger(),
  });
  const add = (key: string, name: string): FakeSession => {
    const session = new FakeSession(sessions, name);
    sessions.add(session, key);
    return session;
  };
  return { sessions, add };
}

describe("SessionRegistry", () => {
  it("finds a session by its resume token only for the key that started it", () => {
    const { sessions, add } = registry();
    const a = add("key-a", "a");
    assert.equal(sessions.find("key-a", a.resumeToken), a);
    assert.equal(sessions.find("key-b", a.resumeToken), undefined);
    assert.equal(sessions.find("key-a", null), undefined);
    assert.equal(sessions.find("key-a", "rt_unknown"), undefined);
    assert.equal(sessions.has(a.resumeToken), true);
  });

  it("forgets a closed session", () => {
    const { sessions, add } = registry();
    const a = add("k", "a");
    add("k", "b");
    sessions.hooks.onClosed(a);
    assert.equal(sessions.has(a.resumeToken), false);
    assert.equal(sessions.find("k", a.resumeToken), undefined);
    assert.deepEqual(
      sessions.all().map((s) => s.id),
      ["b"],
    );
    assert.equal(sessions.liveSessions(), 1);
  });

  it("counts live, waiting, waiting-with-decoder and held sessions, of all keys or of one", () => {
    const { sessions, add } = registry();
    add("k1", "streaming");
    const waitingHolding = add("k1", "waiting-holding");
    waitingHolding.drop(1);
    const waitingReleased = add("k2", "waiting-released");
    waitingReleased.drop(2);
    waitingReleased.releaseDecoder("hold_expired");
    const finished = add("k2", "finished");
    finished.finished = true;
    finished.holdsDecoder = false;

    assert.equal(sessions.liveSessions(), 3);
    assert.equal(sessions.waitingSessions(), 2);
    assert.equal(sessions.waitingDecoders(), 1);
    assert.equal(sessions.heldStreams(), 2);
    assert.equal(sessions.heldStreams("k1"), 2);
    assert.equal(sessions.heldStreams("k2"), 0);
    assert.equal(sessions.heldStreams("nobody"), 0);
  });

  it("gives the largest engine backlog of its sessions", () => {
    const { sessions, add } = registry();
    assert.equal(sessions.maxBacklogMs(), 0);
    add("k", "a").backlogMs = 120;
    add("k", "b").backlogMs = 900;
    add("k", "c").backlogMs = 40;
    assert.equal(sessions.maxBacklogMs(), 900);
  });

  it("releases waiting decoders oldest first, only as many as asked, never a connected session's", () => {
    const { sessions, add } = registry();
    const connected = add("k1", "connected");
    const newest = add("k1", "newest");
    const oldest = add("k2", "oldest");
    const middle = add("k1", "middle");
    newest.drop(30);
    oldest.drop(10);
    middle.drop(20);

    sessions.releaseWaitingDecoders(undefined, 0, "node_budget");
    assert.equal(sessions.waitingDecoders(), 3);
    sessions.releaseWaitingDecoders(undefined, 2, "node_budget");
    assert.deepEqual(oldest.releases, ["node_budget"]);
    assert.deepEqual(middle.releases, ["node_budget"]);
    assert.deepEqual(newest.releases, []);
    assert.equal(connected.holdsDecoder, true);

    sessions.releaseWaitingDecoders(undefined, 5, "node_budget");
    assert.deepEqual(newest.releases, ["node_budget"]);
    assert.equal(connected.holdsDecoder, true);
  });

  it("releases only the given key's waiting decoders, skipping those already released", () => {
    const { sessions, add } = registry();
    const other = add("k2", "other");
    const released = add("k1", "released");
    const holding = add("k1", "holding");
    other.drop(1);
    released.drop(2);
    released.releaseDecoder("hold_expired");
    holding.drop(3);

    sessions.releaseWaitingDecoders("k1", 1, "key_budget");
    assert.deepEqual(holding.releases, ["key_budget"]);
    assert.deepEqual(released.releases, ["hold_expired"]);
    assert.equal(other.holdsDecoder, true);
  });

  it("ends a key's oldest waiting sessions beyond maxStreamsPerKey, leaving other keys alone", () => {
    const { sessions, add } = registry(2, 10);
    const otherKey = add("k2", "other");
    otherKey.drop(0);
    const [first, second, third] = [add("k1", "first"), add("k1", "second"), add("k1", "third")];
    first.drop(1);
    second.drop(2);
    assert.equal(first.expired, false);
    third.drop(3);

    assert.equal(first.expired, true);
    assert.equal(sessions.has(first.resumeToken), false);
    assert.equal(second.expired, false);
    assert.equal(third.expired, false);
    assert.equal(otherKey.expired, false);
    assert.equal(sessions.waitingSessions(), 3);
  });

  it("lets only maxWaitingDecodersPerKey waiting sessions of a key keep their decoders, the newest", () => {
    const { sessions, add } = registry(64, 2);
    const otherKey = add("k2", "other");
    otherKey.drop(0);
    const waiting = ["a", "b", "c", "d"].map((name) => add("k1", name));
    waiting.forEach((session, i) => {
      session.drop(i + 1);
    });

    assert.deepEqual(
      waiting.map((s) => s.releases),
      [["key_budget"], ["key_budget"], [], []],
    );
    assert.equal(sessions.waitingDecoders(), 3);
    assert.equal(otherKey.holdsDecoder, true);
    assert.equal(sessions.liveSessions(), 5);
  });

  it("ignores a waiting session it does not hold", () => {
    const { sessions } = registry(0, 0);
    const stranger = new FakeSession(sessions, "stranger");
    stranger.drop(1);
    assert.equal(stranger.expired, false);
    assert.deepEqual(stranger.releases, []);
  });
});
