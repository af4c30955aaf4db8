/** Session limits for the session's unit tests: short grace and hold, so resumes and releases happen quickly. */
import type { SessionLimits } from "./session.js";

export const TEST_SESSION_LIMITS: SessionLimits = {
  maxFrameBytes: 1 << 20,
  maxSessionMs: 60_000,
  maxPendingMs: 5_000,
  resumeGraceMs: 300,
  holdDecoderMs: 100,
  maxEngineBacklogMs: 1_000,
  maxUtteranceMs: 30_000,
  maxOutboundBytes: 1 << 20,
};
