import assert from "node:assert/strict";
import { test } from "node:test";
import { averageStreams, ISSUE_VOLUME, nodesFromCapacity, peakStreams, size } from "./sizing.js";

test("50,000 calls a day of 4 minutes: about 139 concurrent streams on average, 417 at 3× peak", () => {
  assert.equal(averageStreams(ISSUE_VOLUME).toFixed(2), "138.89");
  assert.equal(peakStreams(ISSUE_VOLUME), 417);
  assert.deepEqual(nodesFromCapacity(ISSUE_VOLUME, 16), { nodes: 27, nodesWithSpare: 28 });
});

test("a node holds cores × utilization / cost streams; the main thread splits a big machine into processes", () => {
  const cost = {
    cpuPerStream: 0.07,
    mainCpuPerStream: 0.011,
    frontCpuPerStream: 0.001,
    rssPerStreamMb: 12,
    idleRssMb: 400,
  };
  const sizing = size(ISSUE_VOLUME, cost, [2, 16], 0.7);
  const [two, sixteen] = sizing.rows;
  assert.equal(two?.streamsPerNode, 20);
  assert.equal(two?.nodes, 21);
  assert.equal(two?.nodesWithSpare, 22);
  assert.equal(two?.processesPerNode, 1);
  assert.equal(sixteen?.streamsPerNode, 160);
  assert.equal(sixteen?.nodes, 3);
  // 160 streams × 1.1% of a core = 1.76 cores of main thread: three processes keep each under 0.7.
  assert.equal(sixteen?.processesPerNode, 3);
  assert.ok(Math.abs(sizing.frontCores - 0.417) < 1e-9);
});
