/**
 * A Deepgram client's frames, read: binary frames are audio (an empty one ends the stream, as
 * Deepgram's first clients ended it); text frames are JSON messages `KeepAlive`, `Finalize`
 * (optionally `{"channel": i}`) and `CloseStream`. Other JSON is ignored (Deepgram's SDKs send types
 * earshot has no use for, such as `Configure`); text that is not JSON is invalid.
 */
import type { RawData } from "ws";

export type ListenClientMessage =
  | { readonly kind: "audio"; readonly bytes: Buffer }
  | { readonly kind: "keep_alive" }
  | { readonly kind: "finalize"; readonly channel: number | undefined }
  | { readonly kind: "close_stream" }
  /** JSON of a type we do not act on; `type` is cut short for the log. */
  | { readonly kind: "ignored"; readonly type: string }
  | { readonly kind: "invalid" };

export function readListenMessage(data: RawData, isBinary: boolean): ListenClientMessage {
  const bytes = toBuffer(data);
  if (isBinary) return bytes.length === 0 ? { kind: "close_stream" } : { kind: "audio", bytes };
  let message: unknown;
  try {
    message = JSON.parse(bytes.toString("utf8"));
  } catch {
    return { kind: "invalid" };
  }
  const fields = typeof message === "object" && message !== null ? (message as Record<string, unknown>) : {};
  const type = fields.type;
  switch (type) {
    case "KeepAlive":
      return { kind: "keep_alive" };
    case "Finalize": {
      const channel = fields.channel;
      return { kind: "finalize", channel: Number.isInteger(channel) ? (channel as number) : undefined };
    }
    case "CloseStream":
      return { kind: "close_stream" };
    default:
      return { kind: "ignored", type: typeof type === "string" ? type.slice(0, 32) : typeof type };
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
