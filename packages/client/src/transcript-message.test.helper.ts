/** Transcript messages for the aggregator's tests: words 200 ms each from `startMs`. */
import type { TranscriptMessage } from "@earshot/protocol";

export function transcriptMessage(
  segmentId: number,
  isFinal: boolean,
  words: readonly string[],
  startMs = segmentId * 1000,
): TranscriptMessage {
  return {
    type: "transcript",
    is_final: isFinal,
    text: words.join(" "),
    segment_id: segmentId,
    start_ms: startMs,
    end_ms: startMs + words.length * 200,
    language: "en",
    words: words.map((word, i) => ({
      word,
      start_ms: startMs + i * 200,
      end_ms: startMs + (i + 1) * 200,
      confidence: 1,
    })),
  };
}
