import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StreamTokens } from "./stream-tokens.js";

function table(maxUnusedPerKey = 2) {
  let now = 1_000_000;
  const live = new Set<string>();
  const tokens = new StreamTokens({ maxUnusedPerKey, isLive: (rt) => live.has(rt), now: () => now });
  return { tokens, live, advance: (ms: number) => (now += ms) };
}

function minted(result: ReturnType<StreamTokens["mint"]>): string {
  assert.ok(result.ok);
  return result.token;
}

describe("StreamTokens", () => {
  it("lets an unused token in until it expires, and never after a first use without its session", () => {
    const { tokens, advance } = table();
    const token = minted(tokens.mint("k", 10));
    const first = tokens.check(token, null);
    assert.ok(first.ok);
    assert.equal(first.token.key, "k");
    tokens.admit(first.token);
    assert.equal(tokens.check(token, null).ok, false);
    const late = minted(tokens.mint("k", 10));
    advance(10_000);
    const expired = tokens.check(late, null);
    assert.ok(!expired.ok && /expired/.test(expired.why));
  });

  it("lets a used token resume only its own live session, past its expiry", () => {
    const { tokens, live, advance } = table();
    const token = minted(tokens.mint("k", 1));
    const entry = tokens.check(token, null);
    assert.ok(entry.ok);
    tokens.admit(entry.token);
    tokens.bind(entry.token, "rt_a");
    live.add("rt_a");
    tokens.release(entry.token);
    advance(60_000);
    assert.equal(tokens.check(token, "rt_a").ok, true);
    assert.equal(tokens.check(token, "rt_b").ok, false);
    live.delete("rt_a");
    assert.equal(tokens.check(token, "rt_a").ok, false);
  });

  it("bounds unused tokens per key and forgets dead ones", () => {
    const { tokens, advance } = table(2);
    minted(tokens.mint("k", 30));
    minted(tokens.mint("k", 60));
    const full = tokens.mint("k", 30);
    assert.ok(!full.ok);
    assert.equal(full.retryAfterSeconds, 30);
    minted(tokens.mint("other", 30));
    advance(30_000);
    minted(tokens.mint("k", 30));
    assert.equal(tokens.size, 2, "the expired ones are gone");
    const used = tokens.check(minted(tokens.mint("other", 30)), null);
    assert.equal(tokens.size, 3);
    assert.ok(used.ok);
    tokens.admit(used.token);
    tokens.release(used.token);
    assert.equal(tokens.size, 2, "a used token whose connection closed without a session is dropped");
  });
});
