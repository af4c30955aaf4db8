/**
 * Debian's Chromium driven by playwright-core (never downloaded), with a fake microphone playing a
 * WAV file. The browser tests fail, not skip, when it is missing.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export interface ChromiumOptions {
  /** Grant the microphone without a prompt (default true); false: the page is refused it. */
  readonly grantMicrophone?: boolean;
  /** Play the file once instead of looping it: the track ends with the file. */
  readonly noLoop?: boolean;
  /** More Chromium switches. */
  readonly args?: readonly string[];
}

/** Headless Chromium whose fake microphone plays `wav` (16-bit PCM WAV). */
export function launchChromium(wav: string, options: ChromiumOptions = {}): Promise<Browser> {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is not installed at ${CHROMIUM}: run scripts/setup.sh (apt-get install chromium). This test does not skip.`,
  );
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      ...(options.grantMicrophone === false ? [] : ["--use-fake-ui-for-media-stream"]),
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${wav}${options.noLoop ? "%noloop" : ""}`,
      "--no-sandbox",
      ...(options.args ?? []),
    ],
  });
}

/** The finals on the demo page (one paragraph each). */
export const finalsOn = (page: Page): Promise<string[]> => page.locator("#transcript p").allTextContents();

/** Waits until the demo page shows at least `atLeast` finals; returns them. */
export async function waitForFinals(page: Page, atLeast: number, timeoutMs = 20_000): Promise<string[]> {
  await page.waitForFunction((n) => document.querySelectorAll("#transcript p").length >= n, atLeast, {
    timeout: timeoutMs,
  });
  return finalsOn(page);
}
