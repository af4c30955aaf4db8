import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { CliError } from "./cli-error.js";
import { clusterOptions } from "./cluster-options.js";

const NONE = { redis: undefined, nodeId: undefined, leaseMs: undefined, port: 8787 };

describe("cluster options (earshot serve --redis)", () => {
  afterEach(() => {
    delete process.env.EARSHOT_REDIS_URL;
  });

  it("is none without --redis or EARSHOT_REDIS_URL: the node runs alone", () => {
    assert.equal(clusterOptions(NONE), undefined);
  });

  it("takes the URL from the flag or the environment, with a default node id of host, port and a suffix", () => {
    const fromFlag = clusterOptions({ ...NONE, redis: "redis://10.0.0.5:6379", leaseMs: 3000 });
    assert.equal(fromFlag?.redisUrl, "redis://10.0.0.5:6379");
    assert.equal(fromFlag?.leaseMs, 3000);
    assert.match(fromFlag?.nodeId ?? "", /^[A-Za-z0-9_.-]+-8787-[0-9a-f]{6}$/);
    assert.notEqual(clusterOptions({ ...NONE, redis: "redis://r" })?.nodeId, fromFlag?.nodeId, "unique per process");
    process.env.EARSHOT_REDIS_URL = "rediss://r:6380/2";
    assert.deepEqual(clusterOptions({ ...NONE, nodeId: "node1" }), { redisUrl: "rediss://r:6380/2", nodeId: "node1" });
  });

  it("refuses a URL that is not redis://, a node id unsafe in keys and labels, and cluster flags without --redis", () => {
    assert.throws(() => clusterOptions({ ...NONE, redis: "http://r:6379" }), CliError);
    assert.throws(() => clusterOptions({ ...NONE, redis: "redis://r", nodeId: 'a"b' }), CliError);
    assert.throws(() => clusterOptions({ ...NONE, redis: "redis://r", nodeId: "x".repeat(65) }), CliError);
    assert.throws(() => clusterOptions({ ...NONE, nodeId: "node1" }), /need --redis/);
  });
});
