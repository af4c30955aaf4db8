/**
 * The demo page served by `earshot serve` at `/`: microphone → AudioWorklet (16 kHz PCM16) →
 * EarshotClient → live partials and finals. The API key typed in only mints stream tokens
 * (`POST /v1/auth/token`): one per start, and a new one if the server restarts; the stream itself
 * carries only the token.
 */
import {
  EarshotCaptureError,
  EarshotClient,
  EarshotClientError,
  encodingAvailable,
  MicrophoneCapture,
  mintStreamToken,
} from "@earshot/client/browser";
import type { Encoding, TranscriptMessage } from "@earshot/protocol";
import { CaptureClock, median } from "./capture-clock.js";
import { download, transcriptJson, transcriptText } from "./transcript-file.js";
import { View } from "./view.js";

const view = new View();

interface Run {
  readonly client: EarshotClient;
  readonly microphone: MicrophoneCapture;
}

let run: Run | undefined;
/** Set while Start or Stop is in progress, so a double click does nothing twice. */
let busy = false;
let finals: TranscriptMessage[] = [];

function describe(error: unknown): string {
  if (error instanceof EarshotCaptureError) {
    const hints: Record<string, string> = {
      permission_denied: "Allow the microphone for this page (the icon in the address bar), then Start again.",
      insecure_context: "Open the page over HTTPS (a TLS proxy in front of earshot) or on localhost.",
      unsupported: "Use a current Chrome, Edge, Firefox or Safari.",
      device_not_found: "Pick another microphone.",
      device_lost: "The microphone was unplugged or taken away; pick one and Start again.",
    };
    return `${error.message} ${hints[error.code] ?? ""}`.trim();
  }
  if (error instanceof EarshotClientError && (error.code === "unauthorized" || error.code === "invalid_token")) {
    return "The server refused the API key.";
  }
  return error instanceof Error ? error.message : String(error);
}

/** Shows an error with its typed code (`data-code`), when it has one. */
function showError(error: unknown): void {
  const code = error instanceof EarshotCaptureError || error instanceof EarshotClientError ? error.code : undefined;
  view.error(describe(error), code);
}

/**
 * The client's token provider: a stream token minted with the key for the first session, and a new
 * one whenever the server refuses the last (after a restart, its tokens are gone).
 */
function streamTokens(apiKey: string) {
  let prefetched: Promise<string> | undefined;
  const mint = () => mintStreamToken(location.origin, apiKey, { ttlSeconds: 60 }).then((t) => t.token);
  return {
    prefetch: async () => {
      prefetched = mint();
      await prefetched;
    },
    next: (): Promise<string> => {
      const token = prefetched ?? mint();
      prefetched = undefined;
      return token;
    },
  };
}

async function refreshDevices(): Promise<void> {
  try {
    view.devices(await MicrophoneCapture.devices(), view.microphone.value);
  } catch (error) {
    showError(error);
  }
}

async function start(): Promise<void> {
  view.error(undefined);
  view.clearTranscript();
  finals = [];
  const token = streamTokens(view.apiKey.value.trim());
  // The first token now, so a wrong key shows before the microphone prompt.
  await token.prefetch();
  const microphone = await MicrophoneCapture.start({
    ...(view.microphone.value ? { deviceId: view.microphone.value } : {}),
  });
  // Labels are readable now that permission was given.
  await refreshDevices();
  view.microphone.value = microphone.device.deviceId;
  const client = new EarshotClient({
    url: location.origin,
    token: token.next,
    encoding: view.encoding.value as Encoding,
    config: { interim_results: true },
  });
  run = { client, microphone };
  wire(client, microphone);
  view.running(true);
  try {
    await client.connect();
  } catch (error) {
    await microphone.stop();
    run = undefined;
    throw error;
  }
}

function wire(client: EarshotClient, microphone: MicrophoneCapture): void {
  const clock = new CaptureClock();
  const latencies: number[] = [];
  microphone.on("audio", (pcm) => {
    clock.captured(pcm.length);
    if (client.state !== "closing" && client.state !== "closed") client.send(pcm);
  });
  microphone.on("error", (error) => {
    showError(error);
    void stop();
  });
  client.on("state", (change) => {
    view.state(change);
    if (change.to === "closed") {
      void microphone.stop();
      view.running(false);
      if (run?.client === client) run = undefined;
    }
  });
  client.on("error", showError);
  client.on("partial", (message) => view.partial(message.text));
  client.on("final", (message) => {
    finals.push(message);
    view.final(message.text);
    const lastWordEndMs = message.words?.at(-1)?.end_ms ?? message.end_ms;
    const latency = message.speech_final && message.text ? clock.latencyMs(lastWordEndMs) : undefined;
    if (latency === undefined) return;
    latencies.push(latency);
    view.latency(latency, median(latencies) ?? latency, latencies.length);
  });
}

async function stop(): Promise<void> {
  const current = run;
  run = undefined;
  if (!current) return;
  await current.microphone.stop();
  await current.client.close();
  view.running(false);
}

view.form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (busy) return;
  busy = true;
  (run ? stop() : start())
    .catch((error: unknown) => {
      showError(error);
      view.running(false);
    })
    .finally(() => {
      busy = false;
    });
});
view.downloadText.addEventListener("click", () =>
  download("earshot-transcript.txt", "text/plain", transcriptText(finals)),
);
view.downloadJson.addEventListener("click", () =>
  download("earshot-transcript.json", "application/json", transcriptJson(finals)),
);

const unsupported = MicrophoneCapture.unsupported();
if (unsupported) {
  showError(unsupported);
  view.start.disabled = true;
} else {
  // Opus needs the browser's encoder (WebCodecs); this page loads no JavaScript codec.
  const opus = view.encoding.querySelector<HTMLOptionElement>('option[value="opus"]');
  if (opus && !encodingAvailable("opus")) {
    opus.disabled = true;
    opus.textContent = "Opus (needs WebCodecs)";
  }
  navigator.mediaDevices.addEventListener("devicechange", () => void refreshDevices());
  void refreshDevices();
}
