import assert from "node:assert/strict";
import { test } from "node:test";
import { deferred } from "./deferred.js";
import { EarshotClientError } from "./errors.js";

test("deferred: settled from outside, once", async () => {
  const resolved = deferred<number>();
  resolved.resolve(1);
  resolved.resolve(2);
  assert.equal(await resolved.promise, 1);
  const rejected = deferred<number>();
  const error = new EarshotClientError("connection_failed", "no");
  rejected.reject(error);
  await assert.rejects(rejected.promise, (e) => e === error);
});
