/**
 * Issue 18 part 3: `earshot drain` (the Kubernetes preStop hook) and `earshot rolling-restart`'s
 * refusals and its drain and restart commands, against real `earshot serve` processes. The script
 * walking 3 nodes behind HAProxy under 12 streams of speech is issue 18's proof,
 * test/cluster-failover.test.ts.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { ClusterFleet } from "./helpers/cluster-fleet.js";
import { freePort } from "./helpers/free-port.js";
import { runEarshot } from "./helpers/run-cli.js";
import { killAllServers, serveEngine } from "./helpers/serve-process.js";

const KEY = "rolling-key";
const ADMIN = "rolling-admin";
after(killAllServers);

describe("earshot rolling-restart", () => {
  let fleet: ClusterFleet;

  before(async () => {
    fleet = await ClusterFleet.start({
      engine: "test",
      apiKeys: [KEY],
      nodes: 2,
      args: ["--no-demo", "--admin-key", ADMIN],
      restartOnExit: true,
    });
  });
  after(async () => {
    await fleet?.stop();
  });

  it("earshot drain (the preStop hook) with --wait returns once the node is gone", { timeout: 60_000 }, async () => {
    const node = fleet.node("node1");
    const served = node.served;
    assert.ok(served);
    const refused = await runEarshot(["drain", "--url", node.url, "--admin-key", "wrong"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /401/);
    const drained = await runEarshot(["drain", "--url", node.url, "--wait"], { EARSHOT_ADMIN_KEY: ADMIN });
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, /drained/);
    const exitCode = served.process.exitCode ?? (await once(served.process, "exit"))[0];
    assert.equal(exitCode, 0, "the drained process exited cleanly");
  });
});

describe("earshot rolling-restart refuses to start", () => {
  it("without nodes, or with a node that does not serve", async () => {
    const usage = await runEarshot(["rolling-restart", "--admin-key", ADMIN]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /no --node/);
    const malformed = await runEarshot(["rolling-restart", "--node", "node1", "--admin-key", ADMIN]);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /NAME=http/);
    const port = await freePort();
    const down = await runEarshot([
      "rolling-restart",
      "--node",
      `node1=http://127.0.0.1:${port}`,
      "--admin-key",
      ADMIN,
    ]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /node1 .* is not serving \(not answering\): stopping/);
  });
});

describe("earshot rolling-restart with commands", () => {
  it("drains with --drain-command and starts the node again with --restart-command", { timeout: 120_000 }, async () => {
    const node = await serveEngine("test", 0, KEY, { args: ["--no-demo", "--admin-key", ADMIN] });
    const bin = new URL("../../packages/cli/bin/earshot.js", import.meta.url).pathname;
    const restart = [process.execPath, bin, "serve", "--engine", "test", "--host", "127.0.0.1", "--port", "{port}"]
      .concat(["--api-key", KEY, "--admin-key", ADMIN, "--no-demo"])
      .join(" ");
    const run = await runEarshot([
      "rolling-restart",
      "--node",
      `solo=${node.url}`,
      "--drain-command",
      `kill -TERM ${node.process.pid}`,
      "--restart-command",
      restart,
      "--node-timeout-ms",
      "60000",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /solo: exited[\s\S]*solo: back/);
    assert.equal(node.process.exitCode, 0, "the first process drained and exited");
    // The process the restart command started serves on the same port; drain it away.
    assert.equal((await fetch(`${node.url}/readyz`)).status, 200);
    const stopped = await runEarshot(["drain", "--url", node.url, "--admin-key", ADMIN, "--wait"]);
    assert.equal(stopped.code, 0, stopped.stderr);
  });
});
