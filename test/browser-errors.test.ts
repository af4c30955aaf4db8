/**
 * The demo page's capture errors in real headless Chromium (no fake permission UI, so the browser's
 * own permission decides): a page refused the microphone shows the typed `permission_denied`; a
 * microphone taken away mid-stream (its permission revoked, which makes Chromium end the track)
 * makes the SDK report `device_lost`, which the page shows while it stops the stream.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { writeWav } from "@earshot/audio";
import type { Browser, BrowserContext } from "playwright-core";
import { launchChromium, waitForFinals } from "./helpers/chromium.js";
import { killAllServers, type ServeProcess, serveTestEngine } from "./helpers/serve-process.js";
import { speechStream } from "./helpers/speech.js";

const KEY = "browser-errors-key";
const INSECURE_HOST = "earshot.test";

describe("demo page capture errors in Chromium", { timeout: 60_000 }, () => {
  let dir: string;
  let served: ServeProcess;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "earshot-browser-errors-"));
    const wav = join(dir, "speech.wav");
    writeFileSync(wav, writeWav(16_000, [speechStream(["ps-goforward"], 800)]));
    [served, browser] = await Promise.all([
      serveTestEngine(0, KEY),
      launchChromium(wav, {
        grantMicrophone: false,
        // A name that is not localhost, resolved to loopback: a real insecure context, no network.
        args: [`--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`],
      }),
    ]);
  });

  after(async () => {
    await browser?.close();
    killAllServers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function startPage(context: BrowserContext) {
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${served.url}/`);
    await page.getByLabel("API key").fill(KEY);
    await page.getByRole("button", { name: "Start" }).click();
    return { page, pageErrors };
  }

  it("a refused microphone shows permission_denied and starts no stream", async () => {
    const context = await browser.newContext();
    const { page, pageErrors } = await startPage(context);
    await page.waitForSelector('#error[data-code="permission_denied"]');
    assert.match((await page.locator("#error").textContent()) ?? "", /refused.*Allow the microphone/s);
    assert.equal(await page.getAttribute("#status", "data-state"), "idle", "no connection was opened");
    assert.equal(await page.getByRole("button", { name: "Start" }).isEnabled(), true, "Start can be tried again");
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  it("a browser without AudioWorklet shows unsupported and offers no Start", async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      // As in a browser that predates AudioWorklet (and the SDK must not fall back to ScriptProcessor).
      Reflect.deleteProperty(globalThis, "AudioWorkletNode");
    });
    const page = await context.newPage();
    await page.goto(`${served.url}/`);
    await page.waitForSelector('#error[data-code="unsupported"]');
    assert.match((await page.locator("#error").textContent()) ?? "", /AudioWorklet/);
    assert.equal(await page.locator("#start").isDisabled(), true);
    await context.close();
  });

  it("a page served over plain HTTP from a name that is not localhost shows insecure_context", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://${INSECURE_HOST}:${served.port}/`);
    assert.equal(await page.evaluate(() => globalThis.isSecureContext), false);
    await page.waitForSelector('#error[data-code="insecure_context"]');
    assert.match((await page.locator("#error").textContent()) ?? "", /secure page/);
    assert.equal(await page.locator("#start").isDisabled(), true);
    await context.close();
  });

  it("fits a phone: no sideways scrolling, every control on screen and at least 40 px tall", async () => {
    const context = await browser.newContext({
      viewport: { width: 360, height: 640 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    const page = await context.newPage();
    await page.goto(`${served.url}/`);
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= 360, `page is ${scrollWidth} px wide on a 360 px screen`);
    for (const selector of ["#api-key", "#microphone", "#encoding", "#start", "#download-txt", "#download-json"]) {
      const box = await page.locator(selector).boundingBox();
      assert.ok(box, `${selector} is laid out`);
      assert.ok(box.x >= 0 && box.x + box.width <= 360, `${selector} spans ${box.x}–${box.x + box.width} px`);
      assert.ok(box.height >= 40, `${selector} is ${box.height} px tall: too small to tap`);
    }
    await context.close();
  });

  it("a microphone taken away mid-stream reports device_lost; the page stops the stream", async () => {
    const context = await browser.newContext();
    await context.grantPermissions(["microphone"], { origin: served.url });
    const { page, pageErrors } = await startPage(context);
    await page.waitForSelector('#status[data-state="open"]');
    await waitForFinals(page, 1);

    await context.clearPermissions();
    await page.waitForSelector('#error[data-code="device_lost"]', { timeout: 5000 });
    assert.match((await page.locator("#error").textContent()) ?? "", /went away/);
    await page.waitForSelector('#status[data-state="closed"]');
    assert.equal(await page.getByRole("button", { name: "Start" }).isVisible(), true);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });
});
