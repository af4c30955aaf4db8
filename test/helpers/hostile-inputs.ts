/**
 * Seeded malformed and hostile WebSocket messages for the fuzz test: bad JSON, JSON that is not an
 * object, wrong types, huge and odd numbers, deep nesting, giant strings, piles of unknown fields,
 * prototype keys, junk resume tokens, odd/empty/oversized binary frames, and valid messages out of
 * place. Each call returns one message; the kinds are chosen by weight from the seed.
 */
import { between, pick, type Random } from "@earshot/test-support";

export type HostileMessage = { readonly kind: string; readonly data: string | Buffer };

/** Bytes of the largest frame the server accepts by default (1 MiB), and ws's hard cap (4×). */
export const MAX_FRAME_BYTES = 1024 * 1024;

const nested = (depth: number, leaf: string) => "[".repeat(depth) + leaf + "]".repeat(depth);
const nestedObject = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
const json = (value: unknown) => JSON.stringify(value);

const HUGE_NUMBERS = [
  "1e308",
  "-1e308",
  "1e999",
  "-0",
  "9007199254740993",
  "123456789012345678901234567890",
  "1e-320",
  "0.5",
  "-1",
  "4294967296",
];

const BAD_JSON = [
  "",
  "{",
  "}",
  '{"type":',
  '{"type":"config",}',
  "{'type':'config'}",
  '{"type":"config" "config":{}}',
  "NaN",
  "undefined",
  '{"type":"keepalive"}garbage',
  "\uFEFF{}",
  '{"type":"\\ud800"}',
  '{"type":"config","config":{"language":"en"',
  "[[[[[[",
  "\u0000\u0001\u0002",
];

const NOT_OBJECTS = ["1", "[]", "null", '"config"', "true", "1e999", '[{"type":"config"}]', '""'];

/** A config message with one field made hostile. */
function badConfig(random: Random): string {
  const field = pick(random, [
    "model",
    "language",
    "task",
    "response_format",
    "timestamp_granularity",
    "encoding",
    "sample_rate",
    "chunk_overlap_ms",
    "interim_results",
    "start_sample",
    "first_segment_id",
  ]);
  const value = pick(random, [
    () => pick(random, HUGE_NUMBERS),
    () => json("x".repeat(between(random, 0, 200_000))),
    () => nested(between(random, 10, 20_000), "0"),
    () => nestedObject(between(random, 10, 5_000)),
    () => pick(random, ["null", "true", "[]", "{}", '"zz"', '"16000"', "-5"]),
  ])();
  return `{"type":"config","config":{"language":"en","${field}":${value}}}`;
}

export function hostileMessage(random: Random): HostileMessage {
  const roll = random();
  if (roll < 0.08) return { kind: "bad_json", data: pick(random, BAD_JSON) };
  if (roll < 0.14) {
    // Truncated valid messages.
    const valid = json({ type: "config", config: { language: "en", timestamp_granularity: "word" } });
    return { kind: "truncated_json", data: valid.slice(0, between(random, 1, valid.length - 1)) };
  }
  if (roll < 0.19) return { kind: "not_object", data: pick(random, NOT_OBJECTS) };
  if (roll < 0.27) {
    const type = pick(random, ["123", "true", "null", "[]", "{}", '"CONFIG"', '"__proto__"', '"toString"', '""']);
    return { kind: "wrong_type", data: `{"type":${type}}` };
  }
  if (roll < 0.4) return { kind: "bad_config", data: badConfig(random) };
  if (roll < 0.46) {
    const audio = pick(random, [
      "123",
      "null",
      "[1,2]",
      '"zz"',
      '"abc"',
      '"0g0g"',
      json("00".repeat(between(random, 1, 50_000))),
      json("0".repeat(between(random, 1, 4) * 4 + 2)),
      nested(between(random, 10, 10_000), '"00"'),
    ]);
    return { kind: "bad_audio_chunk", data: `{"type":"audio_chunk","audio":${audio}}` };
  }
  if (roll < 0.54) {
    const token = pick(random, [
      json("rt_".padEnd(between(random, 16, 128), "A")),
      json(`rt_${Array.from({ length: 32 }, () => between(random, 0, 15).toString(16)).join("")}`),
      json("short"),
      json("x".repeat(between(random, 129, 100_000))),
      "123",
      "null",
      nested(between(random, 1, 1000), '"rt_"'),
    ]);
    const last = pick(random, ["-1", "0", "-2", "1e308", "0.5", '"3"', "9007199254740993", "null"]);
    return { kind: "junk_resume", data: `{"type":"resume","resume_token":${token},"last_segment_id":${last}}` };
  }
  if (roll < 0.58) {
    const fields = between(random, 1, 20_000);
    const extra = Array.from({ length: fields }, (_, i) => `"f${i}":${i}`).join(",");
    return { kind: "unknown_fields", data: `{"type":"keepalive",${extra}}` };
  }
  if (roll < 0.61) {
    return {
      kind: "prototype_keys",
      data: pick(random, [
        '{"type":"config","config":{"__proto__":{"language":"zz"},"constructor":{"prototype":1}}}',
        '{"__proto__":{"type":"config"}}',
        '{"type":"keepalive","__proto__":null,"hasOwnProperty":1}',
      ]),
    };
  }
  if (roll < 0.64) {
    // Giant unknown type (echoed in the error) or a giant value in a known field.
    const size = between(random, 10_000, 600_000);
    return {
      kind: "giant_string",
      data: pick(random, [
        () => json({ type: "z".repeat(size) }),
        () => json({ type: "config", config: { model: "m".repeat(size) } }),
        () => json({ type: "keepalive", note: "n".repeat(size) }),
      ])(),
    };
  }
  if (roll < 0.67) {
    // Nesting where it is ignored or rejected by the schema. A nested `type` is kept shallow here:
    // 100,000 deep has its own test in fuzz.test.ts, against a server in a child process.
    const depth = between(random, 100, 50_000);
    return {
      kind: "deep_nesting",
      data: pick(random, [
        () => `{"type":"keepalive","x":${nested(depth, "1")}}`,
        () => `{"type":"config","config":${nestedObject(Math.min(depth, 20_000))}}`,
        () => nested(depth, "{}"),
        () => `{"type":${nested(between(random, 1, 200), '"config"')}}`,
      ])(),
    };
  }
  if (roll < 0.78) {
    // Valid messages, likely out of place on this connection.
    return {
      kind: "out_of_order",
      data: pick(random, [
        json({ type: "config", config: { language: "en" } }),
        json({ type: "config", config: { language: "zz" } }),
        json({ type: "config", config: { language: "en", model: "test-crash" } }),
        json({ type: "config", config: { language: "en", model: "test-broken" } }),
        json({ type: "finalize" }),
        json({ type: "close_stream" }),
        json({ type: "keepalive" }),
        json({ type: "audio_chunk", audio: "0000ff7f0080" }),
        json({ type: "resume", resume_token: "rt_AAAAAAAAAAAAAAAAAAAA", last_segment_id: 0 }),
      ]),
    };
  }
  // Binary frames: empty, odd or noise, all under the frame limit (`oversizedFrame` makes the others).
  const size = pick(random, [0, 1, 3, between(random, 1, 64) * 2 + 1, between(random, 1, 32_000) * 2]);
  const bytes = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) bytes.writeUInt32LE((random() * 2 ** 32) >>> 0, i);
  return { kind: size % 2 === 1 ? "odd_binary" : "binary", data: bytes };
}

/** A binary frame just over the server's limit, or over ws's hard cap. */
export function oversizedFrame(random: Random): HostileMessage {
  const overCap = random() < 0.25;
  return {
    kind: overCap ? "over_ws_cap" : "frame_too_large",
    data: Buffer.alloc(overCap ? MAX_FRAME_BYTES * 4 + 2 : MAX_FRAME_BYTES + 2 * between(random, 1, 1000), 1),
  };
}
