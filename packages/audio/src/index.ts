export { BandExtender, type BandExtenderOptions } from "./band-extension.js";
export { type AudioErrorCode, AudioFormatError } from "./errors.js";
export {
  alawDecode,
  alawEncode,
  alawEncodeSample,
  mulawDecode,
  mulawEncode,
  mulawEncodeSample,
} from "./g711.js";
export {
  concatPcm,
  deinterleavePcm,
  downmixToFloat,
  floatSampleToInt16,
  floatToInt16,
  int16ToFloat,
  interleavePcm,
} from "./pcm.js";
export { type PcmChannels, Resampler, type ResamplerOptions, TARGET_SAMPLE_RATE, toMono16k } from "./resample.js";
export { type ReadWavOptions, readWav, type WavAudio, type WavEncoding, type WavInfo, writeWav } from "./wav.js";
export { type WavStreamInfo, WavStreamReader, WavStreamTo16k, type WavStreamTo16kOptions } from "./wav-stream.js";
