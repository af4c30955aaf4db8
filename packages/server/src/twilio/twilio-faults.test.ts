/** docs/telephony.md lists every Twilio fault code and every reason a call ends, and no others. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { CALL_END_REASONS } from "@earshot/protocol";
import { TWILIO_FAULTS } from "./twilio-faults.js";

const doc = readFileSync(new URL("../../../../docs/telephony.md", import.meta.url), "utf8");

/** First cells of the Markdown table headed `| <first> |`. */
function firstColumn(first: string): string[] {
  const lines = doc.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`| ${first} |`));
  assert.ok(start >= 0, `docs/telephony.md has a table headed "${first}"`);
  const rows: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push((line.split("|")[1] ?? "").trim().replace(/`/g, ""));
  }
  return rows;
}

describe("docs/telephony.md", () => {
  it("lists every Twilio fault code, with whether it ends the stream", () => {
    assert.deepEqual(firstColumn("fault").sort(), Object.keys(TWILIO_FAULTS).sort());
    const lines = doc.split("\n");
    for (const [code, spec] of Object.entries(TWILIO_FAULTS)) {
      const row = lines.find((line) => line.startsWith(`| \`${code}\` |`)) ?? "";
      const ends = (row.split("|")[2] ?? "").trim();
      assert.equal(ends, spec.ends ? "yes" : "no", `${code}: ends the stream`);
    }
  });

  it("lists every reason a call ends", () => {
    assert.deepEqual(firstColumn("reason").sort(), Object.keys(CALL_END_REASONS).sort());
  });

  it("has JSON examples of every subscriber message, each well-formed", () => {
    const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map(
      (m) => JSON.parse(m[1] ?? "") as Record<string, unknown>,
    );
    const types = examples.map((e) => e.type);
    for (const type of ["call_started", "transcript", "utterance_end", "call_ended"])
      assert.ok(types.includes(type), type);
    for (const example of examples) {
      if (example.type === "transcript" || example.type === "utterance_end") {
        assert.ok(example.channel === 0 || example.channel === 1, "channel");
        assert.equal(example.speaker, example.channel === 0 ? "customer" : "agent");
      }
      if (example.type === "transcript") assert.equal(typeof example.cursor, example.is_final ? "number" : "undefined");
      if (example.type === "call_started" || example.type === "call_ended")
        assert.equal(typeof example.cursor, "number");
      if (example.type === "call_ended") assert.ok(Object.hasOwn(CALL_END_REASONS, example.reason as string));
    }
  });
});
