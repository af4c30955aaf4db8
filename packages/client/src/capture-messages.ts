/**
 * What the microphone's AudioWorklet (capture-worklet.ts) and the page (microphone.ts) say to each
 * other over the node's MessagePort. Imported by both, so it holds no code that needs a window.
 */

/** The name the worklet registers its processor under. */
export const CAPTURE_PROCESSOR = "earshot-capture";

/** Audio per message from the worklet: 20 ms at 16 kHz (the server decodes 20 ms frames). */
export const CAPTURE_CHUNK_SAMPLES = 320;

/** Page → worklet: send what is buffered (the resampler's tail too), then `stopped`, then stop. */
export const STOP = "stop";
/** Worklet → page after the last audio. Audio itself arrives as `Int16Array` (16 kHz mono PCM16). */
export const STOPPED = "stopped";
