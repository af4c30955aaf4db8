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

/** The call-centre playlist's shape: silences of 1–6 s, talk about 40% of the audio. */
export interface CallCentreShape {
  readonly minSilenceMs: number;
  readonly maxSilenceMs: number;
  /** Speech (the clips' `speechBounds`) / all audio the stream plays, in the long run. */
  readonly talkRatio: number;
}

export const CALL_CENTRE: CallCentreShape = { minSilenceMs: 1000, maxSilenceMs: 6000, talkRatio: 0.4 };

/**
 * One side of a call: the clips in a seeded shuffle, each followed by silences of 1–6 s (each drawn
 * at random) until the stream's silence has caught up with what `talkRatio` asks for; at least one
 * silence follows every clip, and what the last one overshoots is carried to the next gap, so the
 * ratio holds over the stream, not only on average. The eval files are longer (about 5 s of
 * speech) than a single 1–6 s pause would balance to 40%, hence several pauses in a row.
 */
export function callCentrePlaylist(
  clips: readonly Clip[],
  random: Random,
  shape: CallCentreShape = CALL_CENTRE,
): Playlist {
  const clipsInOrder = shuffledPlaylist(clips, random, 0);
  const silencePerSpeech = (1 - shape.talkRatio) / shape.talkRatio;
  let silenceOwedMs = 0;
  return () => {
    const { clip } = clipsInOrder();
    // The clip's own leading and trailing silence counts as silence.
    silenceOwedMs += (clip.endMs - clip.onsetMs) * silencePerSpeech - (clipMs(clip) - (clip.endMs - clip.onsetMs));
    let gapFrames = 0;
    do {
      const frames = between(random, shape.minSilenceMs / FRAME_MS, shape.maxSilenceMs / FRAME_MS);
      gapFrames += frames;
      silenceOwedMs -= frames * FRAME_MS;
    } while (silenceOwedMs > 0);
    return { clip, gapFrames };
  };
}

/** A clip's length as played (whole frames), ms. */
export function clipMs(clip: Clip): number {
  return clip.frames.length * FRAME_MS;
}

/** Speech / all audio over played items (clip plus the silence after it). */
export function talkRatioOf(items: readonly PlaylistItem[]): number {
  let speechMs = 0;
  let totalMs = 0;
  for (const { clip, gapFrames } of items) {
    speechMs += clip.endMs - clip.onsetMs;
    totalMs += clipMs(clip) + gapFrames * FRAME_MS;
  }
  return totalMs > 0 ? speechMs / totalMs : Number.NaN;
}
