/** docs/reliability.md's example, run as written against a real server. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";

const ROOT = new URL("../../../", import.meta.url);
const script = new URL("packages/client/dist/reliability-example.mjs", ROOT);
let server: EarshotServer;
let url: string;

before(async () => {
  server = createServer({ engine: new TestEngine(), apiKeys: ["doc-key"] });
  ({ url } = await server.listen({ host: "127.0.0.1", port: 0 }));
  await server.ready;
});
after(async () => {
  rmSync(script, { force: true });
  await server.close();
});

test("docs/reliability.md: the example under 'Using it' runs", async () => {
  const doc = readFileSync(new URL("docs/reliability.md", ROOT), "utf8");
  const example = /## Using it\n[\s\S]*?```js\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example, "a js block under 'Using it'");
  writeFileSync(script, example);
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [script.pathname],
      { env: { ...process.env, EARSHOT_URL: url, EARSHOT_API_KEY: "doc-key" } },
      (error, out, err) => resolve({ code: error ? Number(error.code) : 0, stdout: out, stderr: err }),
    );
  });
  assert.equal(code, 0, stderr);
  assert.equal(stdout, "1000 0\n");
});
