import assert from "node:assert/strict";
import { test } from "node:test";
import { endCause, isNormalClose } from "./connection.js";
import { EarshotClientError } from "./errors.js";

const end = (code: number, reason = "", error?: EarshotClientError) => ({ code, reason, error, established: false });

test("endCause: the connection's own error, else one from the close code", () => {
  const own = new EarshotClientError("unauthorized", "bad key");
  assert.equal(endCause(end(1008, "", own), true), own);
  const first = endCause(end(1006), true);
  assert.equal(first.code, "connection_failed");
  assert.equal(first.closeCode, 1006);
  assert.equal(first.message, "Connection closed (1006) before the session started.");
  const later = endCause(end(1011, "engine gone"), false);
  assert.equal(later.code, "connection_lost");
  assert.equal(later.retryable, true);
  assert.equal(later.message, "Connection closed with 1011 (engine gone).");
  assert.equal(endCause(end(1006), false).message, "Connection closed with 1006.");
});

test("isNormalClose: 1000 without an error only", () => {
  assert.equal(isNormalClose(end(1000)), true);
  assert.equal(isNormalClose(end(1000, "", new EarshotClientError("protocol_error", "x"))), false);
  assert.equal(isNormalClose(end(1001)), false);
});
