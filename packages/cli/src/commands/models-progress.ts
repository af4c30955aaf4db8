/**
 * Download progress for `earshot models pull`: a bar redrawn in place on a terminal, plain lines
 * (every 10%) when stderr is a file or a pipe, so logs stay readable.
 */
import type { DownloadProgress } from "@earshot/engine-sherpa";

const BAR_WIDTH = 30;
/** Redraw the bar at most this often. */
const REDRAW_MS = 100;

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

export class ProgressReporter {
  readonly #name: string;
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #startedAt = performance.now();
  #lastDraw = 0;
  #lastStep = -1;
  #drawn = false;
  #announcedResume = false;
  #finished = false;

  constructor(name: string, out: NodeJS.WriteStream) {
    this.#name = name;
    this.#out = out;
    this.#tty = out.isTTY === true;
  }

  update({ receivedBytes, totalBytes, resumedFrom }: DownloadProgress): void {
    if (resumedFrom > 0 && !this.#announcedResume) {
      this.#announcedResume = true;
      this.#line(`resuming ${this.#name} at ${formatBytes(resumedFrom)}`);
    }
    const fraction = totalBytes ? Math.min(receivedBytes / totalBytes, 1) : undefined;
    const amount = `${formatBytes(receivedBytes)}${totalBytes ? ` of ${formatBytes(totalBytes)}` : ""}`;
    if (this.#tty) {
      const now = performance.now();
      if (now - this.#lastDraw < REDRAW_MS && fraction !== 1) return;
      this.#lastDraw = now;
      const seconds = (now - this.#startedAt) / 1000;
      const rate = seconds > 0 ? `${formatBytes((receivedBytes - resumedFrom) / seconds)}/s` : "";
      const filled = fraction === undefined ? 0 : Math.round(fraction * BAR_WIDTH);
      const bar = `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}]`;
      const percent = fraction === undefined ? "" : ` ${Math.floor(fraction * 100)}%`;
      this.#out.write(`\r\x1b[2K${this.#name} ${bar}${percent} ${amount} ${rate}`);
      this.#drawn = true;
      return;
    }
    const step = fraction === undefined ? Math.floor(receivedBytes / 10_000_000) : Math.floor(fraction * 10);
    if (step === this.#lastStep) return;
    this.#lastStep = step;
    this.#line(`downloading ${this.#name}: ${amount}${fraction === undefined ? "" : ` (${step * 10}%)`}`);
  }

  /** Ends the bar's line; `stage` is printed once, as the next step begins. */
  done(stage?: string): void {
    if (this.#drawn) this.#out.write("\n");
    this.#drawn = false;
    if (stage !== undefined && !this.#finished) this.#line(`${stage} ${this.#name}`);
    this.#finished = true;
  }

  #line(text: string): void {
    if (this.#drawn) this.#out.write("\n");
    this.#drawn = false;
    this.#out.write(`${text}\n`);
  }
}
