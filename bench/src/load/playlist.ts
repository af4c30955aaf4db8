/**
 * What a load stream plays: the eval files back to back, each followed by a silence, looping. Every
 * clip is cut once into 100 ms PCM16 frames that all streams share (no per-stream copies), padded
 * with silence to a whole frame, so every clip starts on a frame boundary of the stream.
 */
import { SAMPLES_PER_MS } from "@earshot/protocol";
import { between, loadEvalSet, loadPcm, type Random, speechBounds } from "@earshot/test-support";

export const FRAME_MS = 100;
const FRAME_BYTES = FRAME_MS * SAMPLES_PER_MS * 2;

export interface Clip {
  readonly id: string;
  /** Normalized reference transcript. */
  readonly text: string;
  /** 100 ms frames of PCM16LE; the last one padded with silence. */
  readonly frames: readonly Buffer[];
  /** Energy-based speech onset and end within the clip (`speechBounds`), ms. */
  readonly onsetMs: number;
  readonly endMs: number;
}

/** One frame of digital silence, shared by every gap of every stream. */
export const SILENT_FRAME: Buffer = Buffer.alloc(FRAME_BYTES);

export function loadClips(): Clip[] {
  return loadEvalSet().map((utterance) => {
    const pcm = loadPcm(utterance.path);
    const bounds = speechBounds(pcm);
    const padded = Buffer.alloc(Math.ceil(pcm.byteLength / FRAME_BYTES) * FRAME_BYTES);
    Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).copy(padded);
    const frames: Buffer[] = [];
    for (let at = 0; at < padded.length; at += FRAME_BYTES) frames.push(padded.subarray(at, at + FRAME_BYTES));
    return { id: utterance.id, text: utterance.text, frames, ...bounds };
  });
}

/** The next clip a stream plays and the silence after it, in frames. */
export interface PlaylistItem {
  readonly clip: Clip;
  readonly gapFrames: number;
}

export type Playlist = () => PlaylistItem;

/**
 * The clips in a random order (a new shuffle each round), each followed by `gapMs` of silence, or
 * by a random gap in [gapMs, maxGapMs] when given. Seeded: the same seed plays the same audio.
 */
export function shuffledPlaylist(clips: readonly Clip[], random: Random, gapMs: number, maxGapMs = gapMs): Playlist {
  let round: Clip[] = [];
  return () => {
    if (round.length === 0) round = shuffle([...clips], random);
    const clip = round.pop();
    if (!clip) throw new RangeError("a playlist needs at least one clip");
    const gapFrames = between(random, Math.round(gapMs / FRAME_MS), Math.round(maxGapMs / FRAME_MS));
    return { clip, gapFrames };
  };
}

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
