import assert from "node:assert/strict";
import { test } from "node:test";
import { Credentials } from "./credentials.js";
import { EarshotClientError } from "./errors.js";

test("an API key or a plain token is used as it is, and its refusal is final", () => {
  assert.throws(() => new Credentials("key", "est_x"), RangeError);
  const key = new Credentials("key", undefined);
  assert.equal(key.pending, false);
  assert.equal(key.current, "key");
  key.established();
  assert.equal(key.refused(), false);
  const token = new Credentials(undefined, "est_x");
  token.established();
  assert.equal(token.refused(), false);
  assert.equal(token.current, "est_x");
});

test("a provider is asked first and after a refusal of a token that had worked, not of a fresh one", async () => {
  let calls = 0;
  const credentials = new Credentials(undefined, () => `est_${++calls}`);
  assert.equal(credentials.pending, true);
  assert.equal(await credentials.refresh(), "est_1");
  assert.equal(credentials.pending, false);
  assert.equal(credentials.refused(), false, "a token never admitted was refused: a bad provider, not a dead token");
  credentials.established();
  assert.equal(credentials.refused(), true);
  assert.equal(credentials.pending, true);
  assert.equal(await credentials.refresh(), "est_2");
  assert.equal(calls, 2);
});

test("provider failures are typed: retryable unless the provider says otherwise", async () => {
  const failing = new Credentials(undefined, () => Promise.reject(new Error("backend down")));
  await assert.rejects(failing.refresh(), (e: EarshotClientError) => e.code === "connection_failed" && e.retryable);
  const final = new EarshotClientError("unauthorized", "no", { retryable: false });
  await assert.rejects(new Credentials(undefined, () => Promise.reject(final)).refresh(), (e) => e === final);
  await assert.rejects(
    new Credentials(undefined, () => "").refresh(),
    (e: EarshotClientError) => e.code === "invalid_token" && !e.retryable,
  );
});
