/**
 * The demo page with the real default engine: `earshot serve` (PocketSphinx) as a child process,
 * Chromium's fake microphone playing eval speech ("go forward ten meters", "ten of clubs"), once
 * with each encoding the page offers. The words must show up on the page; the WebSocket frames the
 * page sends must be what the encoding promises: 640-byte PCM frames (32 kB/s), or Opus packets
 * from the browser's WebCodecs encoder at ≈2.5 kB/s.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { writeWav } from "@earshot/audio";
import type { Browser, Page } from "playwright-core";
import { finalsOn, launchChromium } from "./helpers/chromium.js";
import { waitUntil } from "./helpers/http-probe.js";
import { killAllServers, type ServeProcess, serveEngine } from "./helpers/serve-process.js";
import { speechStream } from "./helpers/speech.js";

const KEY = "browser-pocketsphinx-key";
const EXPECTED = ["go", "forward", "ten", "meters", "of", "clubs"];

interface Sent {
  frames: number;
  bytes: number;
}

/** Binary frames the page sends over its WebSockets (audio; control messages are text). */
function countAudio(page: Page): Sent {
  const sent: Sent = { frames: 0, bytes: 0 };
  page.on("websocket", (socket) =>
    socket.on("framesent", ({ payload }) => {
      if (typeof payload === "string") return;
      sent.frames += 1;
      sent.bytes += payload.length;
    }),
  );
  return sent;
}

/** Expected words found in the page's finals. */
async function wordsHeard(page: Page): Promise<Set<string>> {
  const words = (await finalsOn(page)).join(" ").toLowerCase().split(/\s+/);
  return new Set(EXPECTED.filter((w) => words.includes(w)));
}

describe("demo page in Chromium with PocketSphinx", { timeout: 60_000 }, () => {
  let dir: string;
  let served: ServeProcess;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "earshot-browser-ps-"));
    const wav = join(dir, "speech.wav");
    writeFileSync(wav, writeWav(16_000, [speechStream(["ps-goforward", "ps-cards-001"], 1000)]));
    [served, browser] = await Promise.all([serveEngine("pocketsphinx", 0, KEY), launchChromium(wav)]);
    await waitUntil(async () => (await fetch(`${served.url}/readyz`)).ok, "the engine is ready", 20_000);
  });

  after(async () => {
    await browser?.close();
    killAllServers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const { encoding, label, bytesPerSecond } of [
    { encoding: "pcm_s16le", label: "PCM", bytesPerSecond: [31_000, 32_000] },
    { encoding: "opus", label: "Opus", bytesPerSecond: [1500, 3500] },
  ]) {
    it(`${label}: the spoken words appear, at ${label}'s bandwidth`, async (t) => {
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      const sent = countAudio(page);
      await page.goto(`${served.url}/`);
      await page.getByLabel("API key").fill(KEY);
      await page.getByLabel("Encoding").selectOption(encoding);
      await page.getByRole("button", { name: "Start" }).click();
      await page.waitForSelector('#status[data-state="open"]');
      await waitUntil(async () => (await wordsHeard(page)).size >= 4, "four of the spoken words", 20_000);
      await page.getByRole("button", { name: "Stop" }).click();
      await page.waitForSelector('#status[data-state="closed"]');

      // Each frame is 20 ms of audio (the SDK's default chunking; one Opus packet each).
      // (The last PCM frame, sent at Stop, may be shorter.)
      const rate = sent.bytes / (sent.frames * 0.02);
      t.diagnostic(
        `${label}: ${Math.round(rate)} B/s over ${sent.frames} frames; heard ${[...(await wordsHeard(page))]}`,
      );
      assert.ok(sent.frames > 100, `${sent.frames} audio frames`);
      assert.ok(
        rate >= (bytesPerSecond[0] as number) && rate <= (bytesPerSecond[1] as number),
        `${label}: ${Math.round(rate)} B/s over ${sent.frames} frames`,
      );
      assert.equal(await page.locator("#error").isHidden(), true, (await page.locator("#error").textContent()) ?? "");
      assert.deepEqual(pageErrors, []);
      await page.close();
    });
  }
});
