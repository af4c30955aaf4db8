/**
 * The same bytes through earshot's own protocol (a raw `config`, binary frames, `close_stream`), for
 * tests that compare a compatibility surface with it.
 */
import type { Encoding } from "@earshot/protocol";
import { WireClient } from "./ws-client.js";

/** The finals' text of `audio` (in `encoding`) streamed in `chunkBytes` pieces, 5 ms apart. */
export async function viaEarshotProtocol(
  url: string,
  apiKey: string,
  audio: Uint8Array,
  encoding: Encoding,
  chunkBytes: number,
): Promise<string> {
  const client = await WireClient.open(url, apiKey);
  client.sendJson({ type: "config", config: { language: "en", encoding } });
  for (let at = 0; at < audio.length; at += chunkBytes) {
    client.sendBinary(audio.subarray(at, at + chunkBytes));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  client.sendJson({ type: "close_stream" });
  const closed = await client.closed;
  if (closed.code !== 1000) throw new Error(`earshot stream closed with ${closed.code} ${closed.reason}`);
  return client
    .finals()
    .map((m) => String(m.text))
    .join(" ");
}
