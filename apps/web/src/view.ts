/** The page's elements and how state is shown in them (no streaming logic here). */
import type { ClientState, StateChange } from "@earshot/client/browser";

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const STATE_TEXT: Record<ClientState, string> = {
  idle: "Idle",
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closing: "Finishing…",
  closed: "Stopped",
};

export class View {
  readonly form = element<HTMLFormElement>("controls");
  readonly apiKey = element<HTMLInputElement>("api-key");
  readonly microphone = element<HTMLSelectElement>("microphone");
  readonly encoding = element<HTMLSelectElement>("encoding");
  readonly start = element<HTMLButtonElement>("start");
  readonly downloadText = element<HTMLButtonElement>("download-txt");
  readonly downloadJson = element<HTMLButtonElement>("download-json");
  readonly #status = element<HTMLParagraphElement>("status");
  readonly #reconnects = element<HTMLParagraphElement>("reconnects");
  readonly #latency = element<HTMLParagraphElement>("latency");
  readonly #error = element<HTMLParagraphElement>("error");
  readonly #transcript = element<HTMLDivElement>("transcript");
  readonly #partial = element<HTMLParagraphElement>("partial");
  readonly #log = element<HTMLOListElement>("log");
  #reconnectCount = 0;

  /** Start/Stop is one toggle button; `running` also locks the inputs. */
  running(running: boolean): void {
    this.start.textContent = running ? "Stop" : "Start";
    this.start.setAttribute("aria-pressed", String(running));
    this.apiKey.disabled = running;
    this.microphone.disabled = running;
    this.encoding.disabled = running;
  }

  state(change: StateChange): void {
    const attempt = change.to === "reconnecting" && change.attempt ? ` (attempt ${change.attempt})` : "";
    this.#status.dataset.state = change.to;
    this.#status.textContent = STATE_TEXT[change.to] + attempt;
    if (change.to === "reconnecting") {
      this.log(`Connection lost (${change.error?.message ?? "dropped"}); reconnecting${attempt}.`);
    } else if (change.from === "reconnecting" && change.to === "open") {
      this.#reconnectCount += 1;
      this.#reconnects.hidden = false;
      this.#reconnects.dataset.count = String(this.#reconnectCount);
      this.#reconnects.textContent = `Reconnected ×${this.#reconnectCount}`;
      this.log(
        change.resumed ? "Reconnected; the session resumed." : "Reconnected; a new session continues the stream.",
      );
    } else {
      this.log(STATE_TEXT[change.to]);
    }
  }

  error(message: string | undefined, code?: string): void {
    this.#error.hidden = message === undefined;
    if (code === undefined) delete this.#error.dataset.code;
    else this.#error.dataset.code = code;
    this.#error.textContent = message ?? "";
    if (message) this.log(`Error: ${message}`);
  }

  latency(lastMs: number, medianMs: number, count: number): void {
    this.#latency.dataset.lastMs = String(lastMs);
    this.#latency.textContent = `Speech end → final: ${lastMs} ms (median ${medianMs} ms over ${count})`;
  }

  partial(text: string): void {
    this.#partial.textContent = text;
  }

  final(text: string): void {
    this.#partial.textContent = "";
    if (!text) return;
    const line = document.createElement("p");
    line.textContent = text;
    this.#transcript.append(line);
    this.downloadText.disabled = false;
    this.downloadJson.disabled = false;
  }

  clearTranscript(): void {
    this.#transcript.replaceChildren();
    this.#partial.textContent = "";
    this.#reconnectCount = 0;
    this.#reconnects.hidden = true;
  }

  devices(devices: readonly { deviceId: string; label: string }[], selected: string): void {
    const options = devices.map((d, i) => new Option(d.label || `Microphone ${i + 1}`, d.deviceId));
    this.microphone.replaceChildren(new Option("Default microphone", ""), ...options);
    this.microphone.value = devices.some((d) => d.deviceId === selected) ? selected : "";
  }

  log(text: string): void {
    const item = document.createElement("li");
    item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
    this.#log.append(item);
    while (this.#log.children.length > 100) this.#log.firstElementChild?.remove();
  }
}
