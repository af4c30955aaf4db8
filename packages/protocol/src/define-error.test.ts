import assert from "node:assert/strict";
import { test } from "node:test";
import { defineError } from "./define-error.js";

class ShortError extends defineError("ShortError", "too_short") {}

type SizeCode = "too_small" | "too_large";
interface SizeFields {
  readonly retryable: boolean;
  readonly limit: number | undefined;
}
class SizeError extends defineError<SizeCode, SizeFields>("SizeError", (code) => ({
  retryable: code === "too_large",
})) {}

test("a one-code class: name, code, message, cause, instanceof, stack", () => {
  const cause = new Error("underlying");
  const error = new ShortError("3 bytes", { cause });
  assert.ok(error instanceof ShortError);
  assert.ok(error instanceof Error);
  assert.ok(!(error instanceof SizeError));
  assert.equal(error.name, "ShortError");
  assert.equal(error.code, "too_short");
  assert.equal(error.message, "3 bytes");
  assert.equal(error.cause, cause);
  assert.equal(String(error), "ShortError: 3 bytes");
  assert.match(error.stack ?? "", /^ShortError: 3 bytes\n/);
});

test("no cause given: the error has no cause property", () => {
  assert.ok(!("cause" in new ShortError("x")));
  assert.ok(!("cause" in new ShortError("x", {})));
});

test("a family of codes: the code is the first argument", () => {
  const error = new SizeError("too_small", "0 bytes");
  assert.equal(error.code, "too_small");
  assert.equal(error.name, "SizeError");
  assert.equal(error.message, "0 bytes");
});

test("fields take their default by code, unless an option gives them", () => {
  assert.equal(new SizeError("too_small", "m").retryable, false);
  assert.equal(new SizeError("too_large", "m").retryable, true);
  assert.equal(new SizeError("too_large", "m", { retryable: false }).retryable, false);
  assert.equal(
    new SizeError("too_large", "m", { retryable: undefined }).retryable,
    true,
    "undefined keeps the default",
  );
  assert.equal(new SizeError("too_large", "m").limit, undefined);
  assert.equal(new SizeError("too_large", "m", { limit: 10 }).limit, 10);
});

test("each defined class is its own: same code, different classes", () => {
  const Other = defineError("ShortError", "too_short");
  assert.ok(!(new Other("x") instanceof ShortError));
});
