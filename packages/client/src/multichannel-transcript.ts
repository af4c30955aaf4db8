/**
 * The transcript of a multichannel recording: each channel's `TranscriptAggregator` (finals by
 * `segment_id`, exactly once, plus the live partial), read together in time order. Channels run
 * on separate streams whose finals arrive when each is ready, so arrival order says little; every
 * channel's times count from the same first sample, so start times order the conversation.
 */
import type { TranscriptAggregator, TranscriptSegment, TranscriptWord } from "./aggregator.js";

export interface ChannelSegment extends TranscriptSegment {
  /** 0-based channel (0 = left in a stereo file). */
  readonly channel: number;
  /** The channel's label (`speakers` option), if given. */
  readonly speaker?: string;
}

export interface ChannelWord extends TranscriptWord {
  readonly channel: number;
  readonly speaker?: string;
}

export class MultichannelTranscript {
  readonly #channels: readonly TranscriptAggregator[];
  readonly #speakers: readonly (string | undefined)[];

  constructor(channels: readonly TranscriptAggregator[], speakers: readonly (string | undefined)[] = []) {
    this.#channels = channels;
    this.#speakers = speakers;
  }

  /** One channel's own transcript. */
  channel(channel: number): TranscriptAggregator {
    const aggregator = this.#channels[channel];
    if (aggregator === undefined) throw new RangeError(`No channel ${channel} (${this.#channels.length} channels).`);
    return aggregator;
  }

  /**
   * The final segments of every channel, by start time (then end time, then channel): a
   * conversation's turns in the order they were spoken. Overlapping speech interleaves by start.
   */
  get segments(): ChannelSegment[] {
    return inTimeOrder(this.#channels.flatMap((a, c) => a.segments.map((s) => this.#tag(s, c))));
  }

  /** The utterances in progress, one per channel that has one, by start time. */
  get partials(): ChannelSegment[] {
    return inTimeOrder(this.#channels.flatMap((a, c) => (a.partial === undefined ? [] : [this.#tag(a.partial, c)])));
  }

  /** The words of every final, by start time, each with its channel. */
  get finalWords(): ChannelWord[] {
    const words = this.#channels.flatMap((a, c) => a.finalWords.map((w) => this.#tag(w, c)));
    return words.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs || a.channel - b.channel);
  }

  clear(): void {
    for (const aggregator of this.#channels) aggregator.clear();
  }

  #tag<T extends object>(item: T, channel: number): T & { channel: number; speaker?: string } {
    const speaker = this.#speakers[channel];
    return speaker === undefined ? { ...item, channel } : { ...item, channel, speaker };
  }
}

function inTimeOrder(segments: ChannelSegment[]): ChannelSegment[] {
  return segments.sort(
    (a, b) => a.startMs - b.startMs || a.endMs - b.endMs || a.channel - b.channel || a.segmentId - b.segmentId,
  );
}
