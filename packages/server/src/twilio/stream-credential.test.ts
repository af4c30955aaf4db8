import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeyRing } from "../auth.js";
import { SharedTokens } from "../shared-tokens.js";
import { StreamTokens } from "../stream-tokens.js";
import { type CountConnection, streamCredential, TWILIO_SIGNED_KEY } from "./stream-credential.js";

function setup(room = 1) {
  const tokens = new StreamTokens({ maxUnusedPerKey: 10, isLive: () => false });
  const open = new Map<string, number>();
  const count: CountConnection = async (key, streams) => {
    if ((open.get(key) ?? 0) + streams > room) return { ok: false, why: "too many" };
    open.set(key, (open.get(key) ?? 0) + streams);
    return { ok: true, closed: () => open.set(key, (open.get(key) ?? 0) - streams) };
  };
  const mint = () => {
    const minted = tokens.mint("k", 60);
    assert.ok(minted.ok);
    return minted.token;
  };
  return { tokens, open, count, mint, shared: new SharedTokens(tokens, new KeyRing(["k"]), undefined) };
}

describe("streamCredential", () => {
  it("a signed upgrade without a token acts for no key; an unsigned one is refused", async () => {
    const { tokens, shared, count } = setup();
    const signed = await streamCredential(undefined, true, tokens, shared, count, 1);
    assert.ok(signed.ok);
    assert.deepEqual(
      [signed.credential.key, signed.credential.owner, signed.credential.by],
      [TWILIO_SIGNED_KEY, undefined, "signature"],
    );
    const unsigned = await streamCredential(undefined, false, tokens, shared, count, 1);
    assert.equal(unsigned.ok ? "ok" : unsigned.code, "twilio_unauthorized");
  });

  it("a token is used up, counted against its key until released (once), signed or not", async () => {
    const { tokens, shared, open, count, mint } = setup();
    const token = mint();
    const first = await streamCredential(token, true, tokens, shared, count, 1);
    assert.ok(first.ok);
    assert.deepEqual([first.credential.key, first.credential.owner, first.credential.by], ["k", "k", "token"]);
    assert.equal(open.get("k"), 1);
    const again = await streamCredential(token, false, tokens, shared, count, 1);
    assert.equal(again.ok ? "ok" : again.code, "twilio_unauthorized");
    first.credential.release();
    first.credential.release();
    assert.equal(open.get("k"), 0);
    const unknown = await streamCredential("est_never_minted_here_000000", true, tokens, shared, count, 1);
    assert.equal(unknown.ok ? "ok" : unknown.code, "twilio_unauthorized", "a bad token is refused even when signed");
  });

  it("a key with no room left is refused, and its token is not used up", async () => {
    const { tokens, shared, count, mint } = setup(0);
    const token = mint();
    const refused = await streamCredential(token, false, tokens, shared, count, 1);
    assert.equal(refused.ok ? "ok" : refused.code, "twilio_too_many_streams");
    const { count: roomy } = setup(1);
    assert.ok((await streamCredential(token, false, tokens, shared, roomy, 1)).ok, "the token still works");
  });

  it("a two-track call counts two streams of its key", async () => {
    const { tokens, shared, open, count, mint } = setup(2);
    const twoTracks = await streamCredential(mint(), false, tokens, shared, count, 2);
    assert.ok(twoTracks.ok);
    assert.equal(open.get("k"), 2);
    const oneMore = await streamCredential(mint(), false, tokens, shared, count, 1);
    assert.equal(oneMore.ok ? "ok" : oneMore.code, "twilio_too_many_streams");
  });

  it("of two calls with one token counted at once, only the first gets in; the other gives its count back", async () => {
    const { tokens, shared, open, count, mint } = setup(5);
    const token = mint();
    const [first, second] = await Promise.all([
      streamCredential(token, false, tokens, shared, count, 1),
      streamCredential(token, false, tokens, shared, count, 1),
    ]);
    assert.deepEqual([first.ok, second.ok ? "ok" : second.code], [true, "twilio_unauthorized"]);
    assert.equal(open.get("k"), 1);
  });
});
