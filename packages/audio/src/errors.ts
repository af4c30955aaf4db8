import { defineError } from "@earshot/protocol/define-error";

/**
 * Why audio could not be read: the bytes are not a WAV file, a WAV encoding we do not decode, or an
 * Opus packet the decoder rejects.
 */
export type AudioErrorCode = "invalid_wav" | "unsupported_wav_format" | "invalid_opus_packet";

export class AudioFormatError extends defineError<AudioErrorCode>("AudioFormatError") {}
