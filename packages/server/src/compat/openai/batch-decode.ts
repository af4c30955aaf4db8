/**
 * A whole recording through one engine stream, as fast as the engine takes it: the same engine and
 * decoders as live streams. Audio is pushed while the stream's backlog is short, so a file never
 * queues minutes of audio ahead of live streams sharing the engine's workers.
 */
import type { Engine, EngineWord, StreamOptions } from "@earshot/engines";

export interface DecodedSegment {
  readonly text: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly words: readonly EngineWord[];
}

/** One push: 1 s of 16 kHz audio. */
const CHUNK_SAMPLES = 16_000;
/** Push more only while the engine is less than this far behind. */
const MAX_BACKLOG_MS = 2_000;
const BACKLOG_POLL_MS = 10;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The finals of `pcm` (16 kHz mono), in order, each also given to `onSegment` as it is decoded;
 * rejects when the engine fails.
 */
export async function decodeRecording(
  engine: Engine,
  options: StreamOptions,
  pcm: Int16Array,
  onSegment: (segment: DecodedSegment) => void = () => undefined,
): Promise<DecodedSegment[]> {
  const stream = await engine.openStream(options);
  const segments: DecodedSegment[] = [];
  const collected = (async () => {
    for await (const event of stream) {
      if (event.type === "error") throw event.error;
      if (event.type === "final" && event.text.trim() !== "") {
        const segment = { text: event.text.trim(), startMs: event.startMs, endMs: event.endMs, words: event.words };
        segments.push(segment);
        onSegment(segment);
      }
    }
  })();
  // A failure while pushing must not leave the collector's rejection unhandled.
  let failed = false;
  collected.catch(() => {
    failed = true;
  });
  try {
    for (let at = 0; at < pcm.length && !failed; at += CHUNK_SAMPLES) {
      while (!failed && stream.backlogMs > MAX_BACKLOG_MS) await sleep(BACKLOG_POLL_MS);
      stream.push(pcm.subarray(at, at + CHUNK_SAMPLES));
    }
    if (!failed) await stream.end();
    await collected;
    return segments;
  } finally {
    stream.close();
  }
}
