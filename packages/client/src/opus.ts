/**
 * `import "@earshot/client/opus"` makes `encoding: "opus"` available: it registers `@earshot/audio`'s
 * Opus encoder (opusscript) with the client. The Node entry imports it; the browser entry does not
 * (a page would need a bundler to load the codec).
 */
import { OpusEncoder } from "@earshot/audio/opus";
import { useOpus } from "./wire-encoder.js";

useOpus(() => new OpusEncoder({ sampleRate: 16_000 }));
