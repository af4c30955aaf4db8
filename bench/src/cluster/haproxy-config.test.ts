import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SHIPPED_HAPROXY_CFG } from "./cluster-processes.js";
import { benchHaproxyConfig, maxconnForFileLimit, shippedServerMaxconn } from "./haproxy-config.js";

const shipped = readFileSync(SHIPPED_HAPROXY_CFG, "utf8");
const limits = { globalMaxconn: 9000, serverMaxconn: 5000 };

test("the bench's HAProxy config is the shipped one with the bench's nodes, port, socket and two limits", () => {
  const config = benchHaproxyConfig(shipped, ["127.0.0.1:4001", "127.0.0.1:4002"], 4000, "/tmp/x/admin.sock", limits);
  const lines = config.split("\n").map((line) => line.trim());
  assert.deepEqual(
    lines.filter((line) => line.startsWith("server ")),
    ["server node1 127.0.0.1:4001 check", "server node2 127.0.0.1:4002 check"],
  );
  assert.ok(lines.includes("bind 127.0.0.1:4000"));
  assert.ok(lines.includes("maxconn 9000"));
  assert.ok(lines.includes("stats socket /tmp/x/admin.sock mode 600 level admin"));
  assert.equal(lines.filter((line) => /^(chroot|user|group)\s/.test(line)).length, 0);
  const defaults = lines.find((line) => line.startsWith("default-server "));
  assert.match(defaults ?? "", /\smaxconn 5000\b/);
  assert.doesNotMatch(defaults ?? "", /\smaxconn 500\b/);
  // Everything else is the shipped text, line for line.
  const changed = /^(chroot|user|group|server|maxconn|bind|stats socket|default-server)\s/;
  const shippedLines = shipped.split("\n").map((line) => line.trim());
  for (const kept of shippedLines.filter((line) => !changed.test(line))) assert.ok(lines.includes(kept), kept);
  assert.ok(shippedLines.includes("balance leastconn"), "the shipped config was read");
  assert.equal(shippedServerMaxconn(shipped), 500);
});

test("haproxy -c accepts the bench's config", () => {
  const dir = mkdtempSync(join(tmpdir(), "earshot-bench-cfg-"));
  const path = join(dir, "haproxy.cfg");
  writeFileSync(path, benchHaproxyConfig(shipped, ["127.0.0.1:4001"], 4000, join(dir, "admin.sock"), limits));
  execFileSync("haproxy", ["-c", "-f", path], { stdio: "pipe" });
});

test("the global maxconn leaves HAProxy two descriptors per connection within the file limit", () => {
  assert.equal(maxconnForFileLimit(20_000), 9900);
  assert.equal(maxconnForFileLimit(1024), 412);
  assert.equal(maxconnForFileLimit(100), 100);
});
