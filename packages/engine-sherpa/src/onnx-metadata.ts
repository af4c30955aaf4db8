/**
 * Reads an ONNX model's custom metadata (`ModelProto.metadata_props`, field 14) without loading or
 * even reading the graph (field 7, nearly all of the file): the top-level protobuf fields are walked
 * with small positioned reads and every other length-delimited field is skipped by its length. A
 * file that is not a protobuf at all (wrong wire type, a length past the end) or has no graph is
 * rejected here, before sherpa-onnx would abort the process on it. Random bytes can still parse by
 * chance, which is what the checksum and the canary load are for.
 */

import { open } from "node:fs/promises";
import { defineError } from "@earshot/protocol";

const GRAPH_FIELD = 7;
const METADATA_FIELD = 14;
/** Metadata entries are short strings; a larger one means the bytes are not what they claim. */
const MAX_METADATA_ENTRY_BYTES = 1 << 20;
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

export interface OnnxHeader {
  readonly metadata: ReadonlyMap<string, string>;
  readonly hasGraph: boolean;
}

/** Thrown for bytes that are not an ONNX ModelProto; the message says where and why. */
export class OnnxFormatError extends defineError("OnnxFormatError", "invalid_onnx") {}

/** A varint at `offset` of `bytes`: its value and length, or undefined when `bytes` ends first. */
function varint(bytes: Uint8Array, offset: number): { value: number; length: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    const byte = bytes[i] ?? 0;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, length: i - offset + 1 };
  }
  return undefined;
}

/** `StringStringEntryProto { string key = 1; string value = 2; }` */
function metadataEntry(bytes: Uint8Array): [string, string] {
  const fields = ["", ""];
  let offset = 0;
  while (offset < bytes.length) {
    const tag = varint(bytes, offset);
    if (!tag || tag.value % 8 !== WIRE_LENGTH) throw new OnnxFormatError("malformed metadata entry");
    const length = varint(bytes, offset + tag.length);
    const start = offset + tag.length + (length?.length ?? 0);
    if (!length || start + length.value > bytes.length) throw new OnnxFormatError("malformed metadata entry");
    const field = Math.floor(tag.value / 8);
    if (field === 1 || field === 2)
      fields[field - 1] = Buffer.from(bytes.subarray(start, start + length.value)).toString();
    offset = start + length.value;
  }
  return [fields[0] ?? "", fields[1] ?? ""];
}

export async function readOnnxHeader(path: string): Promise<OnnxHeader> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    const metadata = new Map<string, string>();
    let hasGraph = false;
    const head = new Uint8Array(20);
    let position = 0;
    while (position < size) {
      const { bytesRead } = await file.read(head, 0, head.length, position);
      const bytes = head.subarray(0, bytesRead);
      const tag = varint(bytes, 0);
      if (!tag) throw new OnnxFormatError(`unreadable field tag at byte ${position}`);
      const field = Math.floor(tag.value / 8);
      const wire = tag.value % 8;
      if (field === 0) throw new OnnxFormatError(`field number 0 at byte ${position}`);
      let next: number;
      if (wire === WIRE_VARINT) {
        const value = varint(bytes, tag.length);
        if (!value) throw new OnnxFormatError(`unterminated varint at byte ${position}`);
        next = position + tag.length + value.length;
      } else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
        next = position + tag.length + (wire === WIRE_FIXED64 ? 8 : 4);
      } else if (wire === WIRE_LENGTH) {
        const length = varint(bytes, tag.length);
        if (!length) throw new OnnxFormatError(`unterminated length at byte ${position}`);
        const start = position + tag.length + length.length;
        next = start + length.value;
        if (next > size) throw new OnnxFormatError(`field ${field} at byte ${position} runs past the end of the file`);
        if (field === GRAPH_FIELD) hasGraph = true;
        if (field === METADATA_FIELD) {
          if (length.value > MAX_METADATA_ENTRY_BYTES) throw new OnnxFormatError("metadata entry too large");
          const entry = new Uint8Array(length.value);
          await file.read(entry, 0, length.value, start);
          const [key, value] = metadataEntry(entry);
          metadata.set(key, value);
        }
      } else {
        throw new OnnxFormatError(`unexpected wire type ${wire} at byte ${position}`);
      }
      if (next > size) throw new OnnxFormatError(`truncated field ${field} at byte ${position}`);
      position = next;
    }
    return { metadata, hasGraph };
  } finally {
    await file.close();
  }
}
