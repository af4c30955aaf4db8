/** The README's SDK examples, run as written against a real server. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { concatPcm, writeWav } from "@earshot/audio";
import { TEST_WORDS, TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";

const ROOT = new URL("../../", import.meta.url);

/** Runs `code` as an ES module from the repository root, with the server's URL and key. */
function runExample(
  script: URL,
  code: string,
  url: string,
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  writeFileSync(script, code);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script.pathname, ...args],
      { cwd: ROOT.pathname, env: { ...process.env, EARSHOT_URL: url, EARSHOT_API_KEY: "readme-key" } },
      (error, out, err) => resolve({ code: error ? Number(error.code) : 0, stdout: out, stderr: err }),
    );
  });
}

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
    const { code, stdout, stderr } = await runExample(script, example, url);
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

  it("the multichannel example labels each channel's finals and orders the call by time", async () => {
    const readme = readFileSync(new URL("README.md", ROOT), "utf8");
    const example = /### Multichannel audio: each channel on its own\n[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(example, "README has a js block under 'Multichannel audio'");
    // A 48 kHz stereo call for the test engine (a tone is speech, a word per 200 ms, named by its
    // start): the agent speaks at 0.5-1.1 s, the customer at 1.5-2.5 s.
    const tone = (ms: number) =>
      Int16Array.from({ length: ms * 48 }, (_, i) => Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / 48_000)));
    const silence = (ms: number) => new Int16Array(ms * 48);
    const dir = mkdtempSync(join(tmpdir(), "earshot-readme-"));
    const call = join(dir, "call.wav");
    writeFileSync(
      call,
      writeWav(48_000, [
        concatPcm(silence(1500), tone(1000), silence(1000)),
        concatPcm(silence(500), tone(600), silence(2400)),
      ]),
    );
    try {
      const { code, stdout, stderr } = await runExample(script, example, url, [call]);
      assert.equal(code, 0, stderr);
      const lines = stdout.trim().split("\n");
      const agent = TEST_WORDS.slice(2, 5).join(" ");
      const customer = TEST_WORDS.slice(7, 12).join(" ");
      assert.deepEqual(lines.slice(0, 2).sort(), [`0 customer: ${customer}`, `1 agent: ${agent}`]);
      assert.deepEqual(lines.slice(2), [`[agent] ${agent}`, `[customer] ${customer}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
