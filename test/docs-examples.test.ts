/** The README's SDK example, run as written against a real server. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";

const ROOT = new URL("../../", import.meta.url);

describe("README examples", () => {
  let server: EarshotServer;
  let url: string;
  const script = new URL("test/dist/readme-example.mjs", ROOT);

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: ["readme-key"] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(async () => {
    rmSync(script, { force: true });
    await server.close();
  });

  it("the SDK example streams a file and prints partials, finals and the transcript", async () => {
    const readme = readFileSync(new URL("README.md", ROOT), "utf8");
    const example = /## Using the SDK\n\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(example, "README has a js block under 'Using the SDK'");
    writeFileSync(script, example);
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [script.pathname],
        { cwd: ROOT.pathname, env: { ...process.env, EARSHOT_URL: url, EARSHOT_API_KEY: "readme-key" } },
        (error, out, err) => resolve({ code: error ? Number(error.code) : 0, stdout: out, stderr: err }),
      );
    });
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split("\n");
    const finals = lines.filter((line) => line.startsWith("✔ ")).map((line) => line.slice(2));
    assert.ok(
      lines.some((line) => line.startsWith("… ")),
      "a partial was printed",
    );
    assert.ok(finals.length > 0, "a final was printed");
    assert.equal(lines.at(-1), finals.join(" "));
  });
});
