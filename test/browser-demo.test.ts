/**
 * The demo page in real headless Chromium (Debian's, driven by playwright-core; never downloaded):
 * `earshot serve --engine test` as a child process, a FaultProxy between page and server, and
 * Chromium's fake microphone playing eval speech. The page mints a stream token, captures through
 * the AudioWorklet, shows the test engine's words; a cut connection shows as reconnecting and the
 * transcript carries on, and so does a server restart (the page mints a new token for the new
 * session); the .txt download holds the finals. Saves a screenshot to docs/demo-latest.png (not
 * tracked by git), or over the committed docs/demo.png with EARSHOT_UPDATE_SCREENSHOTS=1.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { writeWav } from "@earshot/audio";
import { TEST_WORDS } from "@earshot/engines";
import { FaultProxy } from "@earshot/test-support";
import type { Browser } from "playwright-core";
import { finalsOn, launchChromium, waitForFinals } from "./helpers/chromium.js";
import { kill9, killAllServers, type ServeProcess, serveTestEngine } from "./helpers/serve-process.js";
import { speechStream } from "./helpers/speech.js";

const KEY = "browser-demo-key";
/** The committed docs/demo.png is rewritten only when asked; every run saves docs/demo-latest.png (ignored by git). */
const UPDATE_SCREENSHOT = process.env.EARSHOT_UPDATE_SCREENSHOTS === "1";
const DOCS_SCREENSHOT = new URL(`../../docs/${UPDATE_SCREENSHOT ? "demo" : "demo-latest"}.png`, import.meta.url)
  .pathname;
const WORD = new RegExp(`^(${TEST_WORDS.join("|")})$`);

describe("demo page in Chromium", { timeout: 120_000 }, () => {
  let dir: string;
  let served: ServeProcess;
  let proxy: FaultProxy;
  let proxyUrl: string;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "earshot-browser-"));
    // Two utterances with pauses; Chromium's fake microphone loops the file.
    const wav = join(dir, "speech.wav");
    writeFileSync(wav, writeWav(16_000, [speechStream(["ps-goforward", "ps-cards-001"], 1200)]));
    served = await serveTestEngine(0, KEY);
    proxy = new FaultProxy({ target: { host: "127.0.0.1", port: served.port }, seed: 66 });
    proxyUrl = await proxy.listen();
    browser = await launchChromium(wav);
  });

  after(async () => {
    await browser?.close();
    await proxy?.close();
    killAllServers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("transcribes the microphone live, survives a dropped connection and a server restart, downloads the transcript", async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${proxyUrl}/`);
    await page.getByLabel("API key").fill(KEY);
    await page.getByRole("button", { name: "Start" }).click();
    await page.waitForSelector('#status[data-state="open"]');

    const before = await waitForFinals(page, 2);
    const words = before.join(" ").split(" ");
    assert.ok(words.length >= 3, `finals: ${JSON.stringify(before)}`);
    for (const word of words) assert.match(word, WORD);
    await page.waitForSelector("#latency[data-last-ms]");
    const latencyMs = Number(await page.getAttribute("#latency", "data-last-ms"));
    assert.ok(latencyMs >= 0 && latencyMs < 5000, `latency ${latencyMs} ms`);

    assert.ok(proxy.cutAll() > 0, "the page's connections went through the proxy");
    await page.waitForSelector('#reconnects[data-count="1"]', { timeout: 15_000 });
    await page.waitForSelector('#status[data-state="open"]');
    assert.match((await page.locator("#log").textContent()) ?? "", /Connection lost .*reconnecting/);
    const after = await waitForFinals(page, before.length + 2);
    for (const word of after.join(" ").split(" ")) assert.match(word, WORD);

    // A restarted server knows no token: the page's provider mints a new one, a new session goes on.
    await kill9(served);
    served = await serveTestEngine(served.port, KEY);
    await page.waitForSelector('#reconnects[data-count="2"]', { timeout: 15_000 });
    await page.waitForSelector('#status[data-state="open"]');
    assert.match((await page.locator("#log").textContent()) ?? "", /a new session continues the stream/);
    const restarted = await waitForFinals(page, after.length + 2);
    for (const word of restarted.join(" ").split(" ")) assert.match(word, WORD);
    const screenshot = DOCS_SCREENSHOT;
    await page.screenshot({ path: screenshot });
    assert.ok(statSync(screenshot).size > 10_000, "a screenshot of the page");

    await page.getByRole("button", { name: "Stop" }).click();
    await page.waitForSelector('#status[data-state="closed"]');
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download .txt" }).click();
    const text = readFileSync(await (await download).path(), "utf8");
    assert.deepEqual(text.trim().split("\n"), await finalsOn(page));
    assert.equal(await page.locator("#error").isHidden(), true, (await page.locator("#error").textContent()) ?? "");
    assert.deepEqual(pageErrors, []);
  });
});
