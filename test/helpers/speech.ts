/** Real speech from the eval set (test/fixtures/eval), strung together with pauses. */
import { loadEvalSet, loadMulaw, loadPcm, loadTelephoneSet } from "@earshot/test-support";

/** The utterances `ids`, in that order, each followed by `pauseMs` of silence. */
export function speechStream(ids: readonly string[], pauseMs: number): Int16Array {
  const set = loadEvalSet();
  const clips = ids.map((id) => {
    const utterance = set.find((u) => u.id === id);
    if (!utterance) throw new Error(`no eval utterance ${id}`);
    return loadPcm(utterance.path);
  });
  const pause = pauseMs * 16;
  const out = new Int16Array(clips.reduce((n, clip) => n + clip.length + pause, 0));
  let at = 0;
  for (const clip of clips) {
    out.set(clip, at);
    at += clip.length + pause;
  }
  return out;
}

/** The eval set's 8 kHz μ-law copies of `ids` (sox-made, as a phone line gives them), `pauseMs` of μ-law silence after each. */
export function mulawSpeech(ids: readonly string[], pauseMs: number): Uint8Array {
  const set = loadTelephoneSet();
  const clips = ids.map((id) => {
    const utterance = set.find((u) => u.id === id);
    if (!utterance) throw new Error(`no telephone eval utterance ${id}`);
    return loadMulaw(utterance.path);
  });
  const pause = pauseMs * 8;
  // 0xff is μ-law's zero.
  const out = new Uint8Array(clips.reduce((n, clip) => n + clip.length + pause, 0)).fill(0xff);
  let at = 0;
  for (const clip of clips) {
    out.set(clip, at);
    at += clip.length + pause;
  }
  return out;
}

/** Six eval utterances, short and long, for a stream with several pauses (checkpoint and restart tests). */
export const SIX_CLIPS = [
  "ps-goforward",
  "ps-cards-001",
  "ls-1089-134691-0000",
  "ps-cards-005",
  "jfk-ask-not",
  "ps-librivox-0870",
] as const;
