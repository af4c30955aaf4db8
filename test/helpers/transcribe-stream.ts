/** One whole stream over the wire protocol: config, the audio in 100 ms frames, close_stream; its finals' text. */
import type { Received } from "./ws-client.js";
import { WireClient } from "./ws-client.js";

export async function transcribeStream(url: string, key: string, pcm: Int16Array, config: unknown): Promise<string[]> {
  const client = await WireClient.open(url, key);
  client.sendJson({ type: "config", config });
  await client.waitFor((m) => m.type === "session_started");
  for (let at = 0; at < pcm.length; at += 1600) {
    client.sendBinary(Buffer.from(pcm.buffer, pcm.byteOffset + at * 2, Math.min(1600, pcm.length - at) * 2));
  }
  client.sendJson({ type: "close_stream" });
  await client.waitFor((m) => m.type === "stream_closed", 60_000, "stream_closed");
  await client.closed;
  return client.messages
    .filter((m: Received) => m.type === "transcript" && m.is_final === true)
    .map((m) => String(m.text));
}
