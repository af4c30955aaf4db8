import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StreamTokens } from "../stream-tokens.js";
import { type CountConnection, streamCredential, TWILIO_SIGNED_KEY } from "./stream-credential.js";

function setup(room = 1) {
  const tokens = new StreamTokens({ maxUnusedPerKey: 10, isLive: () => false });
  const open = new Map<string, number>();
  const count: CountConnection = (key) => {
    if ((open.get(key) ?? 0) >= room) return { ok: false, why: "too many" };
    open.set(key, (open.get(key) ?? 0) + 1);
    return { ok: true, closed: () => open.set(key, (open.get(key) ?? 0) - 1) };
  };
  const mint = () => {
    const minted = tokens.mint("k", 60);
    assert.ok(minted.ok);
    return minted.token;
  };
  return { tokens, open, count, mint };
}

describe("streamCredential", () => {
  it("a signed upgrade without a token acts for no key; an unsigned one is refused", () => {
    const { tokens, count } = setup();
    const signed = streamCredential(undefined, true, tokens, count);
    assert.ok(signed.ok);
    assert.deepEqual(
      [signed.credential.key, signed.credential.owner, signed.credential.by],
      [TWILIO_SIGNED_KEY, undefined, "signature"],
    );
    const unsigned = streamCredential(undefined, false, tokens, count);
    assert.equal(unsigned.ok ? "ok" : unsigned.code, "twilio_unauthorized");
  });

  it("a token is used up, counted against its key until released (once), signed or not", () => {
    const { tokens, open, count, mint } = setup();
    const token = mint();
    const first = streamCredential(token, true, tokens, count);
    assert.ok(first.ok);
    assert.deepEqual([first.credential.key, first.credential.owner, first.credential.by], ["k", "k", "token"]);
    assert.equal(open.get("k"), 1);
    const again = streamCredential(token, false, tokens, count);
    assert.equal(again.ok ? "ok" : again.code, "twilio_unauthorized");
    first.credential.release();
    first.credential.release();
    assert.equal(open.get("k"), 0);
    const unknown = streamCredential("est_never_minted_here_000000", true, tokens, count);
    assert.equal(unknown.ok ? "ok" : unknown.code, "twilio_unauthorized", "a bad token is refused even when signed");
  });

  it("a key with no room left is refused, and its token is not used up", () => {
    const { tokens, count, mint } = setup(0);
    const token = mint();
    const refused = streamCredential(token, false, tokens, count);
    assert.equal(refused.ok ? "ok" : refused.code, "twilio_too_many_streams");
    const { count: roomy } = setup(1);
    assert.ok(streamCredential(token, false, tokens, roomy).ok, "the token still works");
  });
});
