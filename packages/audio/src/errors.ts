/**
 * Why audio could not be read: the bytes are not a WAV file, a WAV encoding we do not decode, or an
 * Opus packet the decoder rejects.
 */
export type AudioErrorCode = "invalid_wav" | "unsupported_wav_format" | "invalid_opus_packet";

export class AudioFormatError extends Error {
  readonly code: AudioErrorCode;

  constructor(code: AudioErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AudioFormatError";
    this.code = code;
  }
}
