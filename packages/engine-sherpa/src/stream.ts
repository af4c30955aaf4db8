/**
 * An `EngineStream` decoded in a sherpa-onnx host process. Audio is sent as it comes (the IPC
 * channel serializes it at once, so the caller keeps its buffer).
 */

import { RemoteStream, type StreamHost } from "@earshot/engines";
import type { ToHost } from "./host-messages.js";

export class SherpaStream extends RemoteStream {
  constructor(host: StreamHost<ToHost>, id: number, startSample: number) {
    const transport = host.streamTransport(id, (pcm) => {
      // Structured clone sends a view's whole backing buffer (often a pooled 8 KB or a whole frame).
      const whole = pcm.byteOffset === 0 && pcm.byteLength === pcm.buffer.byteLength;
      host.post({ type: "push", streamId: id, pcm: whole ? pcm : pcm.slice() });
    });
    super(transport, id, startSample);
  }
}
