/**
 * Issue 18 part 3: `earshot rolling-restart` run for real against two `earshot serve --redis`
 * nodes (test engine) behind a real `haproxy` (the shipped config) while SDK streams run through
 * it. The fleet is the nodes' supervisor (`restartOnExit`): a node that exits is started again on
 * its port, as systemd, Kubernetes or compose would. Every node is restarted once, and every
 * stream's transcript equals an uninterrupted run's: no final lost, none twice, no audio lost.
 * `earshot drain` (the Kubernetes preStop hook) is checked on its own.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { type EarshotClientOptions, nodeTransport } from "@earshot/client";
import { mulberry32 } from "@earshot/test-support";
import { ClusterFleet } from "./helpers/cluster-fleet.js";
import { freePort } from "./helpers/free-port.js";
import { runEarshot } from "./helpers/run-cli.js";
import { assertExactlyOnce, type SdkRun, sendPaced, startRun, summary, transcriptText } from "./helpers/sdk-run.js";
import { killAllServers, serveEngine } from "./helpers/serve-process.js";
import { bursts } from "./helpers/signals.js";

const KEY = "rolling-key";
const ADMIN = "rolling-admin";
const STREAMS = 3;
/** Twenty-four utterances with pauses, about 40 s: long enough for both nodes' restarts. */
const SIGNAL = bursts(
  Array.from({ length: 24 }, (_, i) => ({
    toneMs: [900, 1300, 400, 1700, 700, 1100][i % 6] ?? 500,
    silenceMs: 500 + (i % 3) * 300,
  })),
);

after(killAllServers);

const options = (url: string, seed: number): EarshotClientOptions => ({
  url,
  apiKey: KEY,
  config: { language: "en", timestamp_granularity: "word" },
  reconnect: { baseDelayMs: 50, maxDelayMs: 500, random: mulberry32(seed) },
  heartbeatTimeoutMs: 2000,
  closeTimeoutMs: 30_000,
  transport: nodeTransport,
});

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

  it("restarts both nodes under streams: every transcript as an uninterrupted run's", {
    timeout: 180_000,
  }, async (t) => {
    const reference = startRun(options(fleet.url, 1));
    await reference.client.connect();
    await sendPaced(reference, SIGNAL, { speed: Number.POSITIVE_INFINITY });
    assert.equal((await reference.client.close()).code, 1000);

    const runs: SdkRun[] = Array.from({ length: STREAMS }, (_, i) => startRun(options(fleet.url, 100 + i)));
    await Promise.all(runs.map((run) => run.client.connect()));
    const sending = runs.map((run) => sendPaced(run, SIGNAL, { speed: 1 }));
    // How a test invokes the script: each node by its HAProxy server name and URL.
    const nodeArgs = fleet.names.flatMap((name) => ["--node", `${name}=${fleet.node(name).url}`]);
    const restart = await runEarshot([
      "rolling-restart",
      ...nodeArgs,
      "--admin-key",
      ADMIN,
      "--haproxy-socket",
      fleet.haproxy.socket,
      "--node-timeout-ms",
      "60000",
    ]);
    t.diagnostic(restart.stdout.trim());
    assert.equal(restart.code, 0, restart.stderr);
    assert.deepEqual(
      fleet.names.map((name) => fleet.restartsOnExit(name)),
      [1, 1],
      "each node was restarted once",
    );
    await Promise.all(sending);
    const results = await Promise.all(runs.map((run) => run.client.close()));

    for (const [i, run] of runs.entries()) {
      assert.equal(results[i]?.code, 1000);
      assert.equal(results[i]?.lostMs, 0);
      assertExactlyOnce(run);
      assert.equal(transcriptText(run.finals), transcriptText(reference.finals), `stream ${i}`);
      assert.deepEqual(summary(run.finals), summary(reference.finals), `stream ${i}`);
      assert.deepEqual(
        run.errors.map((e) => e.code),
        [],
      );
    }
    const moves = runs.flatMap((run) => run.states.filter((s) => s.error?.code === "draining"));
    assert.ok(moves.length >= STREAMS, `every stream moved at least once: ${moves.length} moves`);
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
