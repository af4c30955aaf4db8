/**
 * Drives earshot's Deepgram-compatible `/v1/listen` with Deepgram's own SDK (`@deepgram/sdk`'s live
 * client, pointed at the server by its `baseUrl`): sends audio in chunks as a live source would,
 * then `CloseStream`, and collects every message until the server closes.
 */
import { DeepgramClient } from "@deepgram/sdk";

export interface DeepgramMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface ListenRun {
  readonly messages: readonly DeepgramMessage[];
  readonly closeCode: number;
}

export interface ResultsMessage extends DeepgramMessage {
  readonly type: "Results";
  readonly channel_index: [number, number];
  readonly is_final: boolean;
  readonly speech_final: boolean;
  readonly from_finalize: boolean;
  readonly start: number;
  readonly duration: number;
  readonly channel: {
    readonly alternatives: readonly {
      readonly transcript: string;
      readonly confidence: number;
      readonly words: readonly { word: string; start: number; end: number; confidence: number }[];
    }[];
  };
  readonly metadata: { readonly request_id: string; readonly model_info: { readonly name: string } };
}

export type ListenArgs = Record<string, string | number | boolean | string[]>;

/** Streams `audio` through the SDK in `chunkBytes` pieces (5 ms apart), then `CloseStream`. */
export async function listenWithSdk(
  url: string,
  apiKey: string,
  args: ListenArgs,
  audio: Uint8Array,
  chunkBytes: number,
  between?: (sent: number) => void,
): Promise<ListenRun> {
  const client = new DeepgramClient({ apiKey, baseUrl: url.replace(/^http/, "ws") });
  const { model = "nova-3", ...rest } = args;
  const socket = await client.listen.v1.connect({
    ...rest,
    model: String(model),
    Authorization: `Token ${apiKey}`,
    reconnectAttempts: 0,
  });
  const messages: DeepgramMessage[] = [];
  const closed = new Promise<number>((resolve) => {
    socket.on("close", (event) => resolve((event as { code: number }).code));
  });
  socket.on("message", (message) => messages.push(message as unknown as DeepgramMessage));
  socket.on("error", () => {});
  socket.connect();
  await socket.waitForOpen();
  for (let at = 0; at < audio.length; at += chunkBytes) {
    socket.sendMedia(audio.subarray(at, at + chunkBytes));
    between?.(at);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  socket.sendCloseStream({ type: "CloseStream" });
  const closeCode = await closed;
  return { messages, closeCode };
}

export const isResults = (message: DeepgramMessage): message is ResultsMessage => message.type === "Results";

/** The words of the final results of one channel, in order. */
export function finalText(messages: readonly DeepgramMessage[], channel = 0): string {
  return messages
    .filter(isResults)
    .filter((m) => m.is_final && m.channel_index[0] === channel)
    .map((m) => m.channel.alternatives[0]?.transcript ?? "")
    .filter((text) => text.length > 0)
    .join(" ");
}

/** PCM16 samples as the little-endian bytes `encoding=linear16` sends. */
export function linear16(samples: Int16Array): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i] as number, true);
  return bytes;
}

/** Resolves once `done()` holds; rejects after `timeoutMs` (a test waits, it never hangs). */
export async function until(done: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
