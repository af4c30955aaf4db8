export {
  DEFAULT_STREAM_DEMAND,
  DEFAULT_TALK_SHARE,
  DEFAULT_VAD_POSTSPEECH_FRAMES,
  FAST_DECODER_ARGS,
  PocketSphinxEngine,
  type PocketSphinxOptions,
  SPEAKERS_QUANTILE_Z,
} from "./engine.js";
