/** Every JSON example in docs/protocol.md parses, and client examples pass the inbound schema. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ERRORS, WARNINGS } from "./errors.js";
import { ClientMessageSchema, isClientMessageType, PROTOCOL_VERSION, unknownFields } from "./messages.js";

const doc = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");
const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map(
  (m) => JSON.parse(m[1] ?? "") as Record<string, unknown>,
);

describe("docs/protocol.md examples", () => {
  it("has examples of every client message type", () => {
    const types = new Set(examples.map((e) => e.type));
    for (const type of ["config", "audio_chunk", "finalize", "close_stream", "keepalive"])
      assert.ok(types.has(type), type);
  });

  it("client examples are valid with no unknown fields", () => {
    for (const example of examples.filter((e) => isClientMessageType(e.type))) {
      assert.ok(ClientMessageSchema.safeParse(example).success, JSON.stringify(example));
      assert.deepEqual(unknownFields(example), []);
    }
  });

  it("server examples use real codes and the current version", () => {
    for (const example of examples) {
      if (example.type === "error") assert.ok(Object.hasOwn(ERRORS, example.code as string));
      if (example.type === "warning") assert.ok(Object.hasOwn(WARNINGS, example.code as string));
      if (example.type === "session_started") assert.equal(example.protocol_version, PROTOCOL_VERSION);
      if (example.type === "transcript") {
        for (const field of ["is_final", "text", "segment_id", "start_ms", "end_ms", "language"]) {
          assert.ok(field in example, field);
        }
      }
    }
  });
});
