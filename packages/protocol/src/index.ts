export * from "./assemblyai-messages.js";
export * from "./call-messages.js";
export * from "./client-message-encoder.js";
export * from "./define-error.js";
export * from "./errors.js";
export * from "./messages.js";
export * from "./tokens.js";
export * from "./twilio-messages.js";
