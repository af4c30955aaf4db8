/**
 * Reads a `multipart/form-data` request (with a Content-Length or chunked) with busboy: the `file`
 * part into memory, up to a byte limit, and the text fields (repeated ones, like
 * `timestamp_granularities[]`, as lists). A body over the limit is read on and dropped (up to
 * `DRAIN_BYTES`), so the client gets the 413 rather than a reset socket.
 */
import type { IncomingMessage } from "node:http";
import busboy from "busboy";
import { OpenAiError } from "./openai-errors.js";

export interface FormFile {
  readonly bytes: Buffer;
  readonly filename: string;
  readonly mimeType: string;
}

export interface Form {
  readonly file: FormFile | undefined;
  readonly fields: ReadonlyMap<string, readonly string[]>;
}

/** Text fields are short (a prompt is the longest); more is not a request of this API. */
const MAX_FIELD_BYTES = 64 * 1024;
const MAX_FIELDS = 64;
/**
 * An oversized body is read (and dropped) this far past the limit, so a client that streams it
 * still gets the 413 rather than a reset socket; past it, the 413 goes out with the body unread.
 */
const DRAIN_BYTES = 100 * 1024 * 1024;

export function readForm(request: IncomingMessage, maxFileBytes: number): Promise<Form> {
  const declared = Number(request.headers["content-length"] ?? Number.NaN);
  if (declared > maxFileBytes + DRAIN_BYTES) {
    return Promise.reject(tooLarge(maxFileBytes, declared));
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: request.headers,
      limits: { files: 4, fileSize: maxFileBytes, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES },
    });
  } catch {
    request.resume();
    return Promise.reject(
      new OpenAiError("invalid_request", "The body must be multipart/form-data with a boundary.", { param: null }),
    );
  }
  return new Promise((resolve, reject) => {
    const fields = new Map<string, string[]>();
    let file: FormFile | undefined;
    let failure: OpenAiError | undefined;
    let received = 0;
    const fail = (error: OpenAiError): void => {
      failure ??= error;
    };
    request.on("data", (chunk: Buffer) => {
      received += chunk.byteLength;
      if (failure?.code === "file_too_large" && received > maxFileBytes + DRAIN_BYTES) {
        request.unpipe(parser);
        reject(failure);
      }
    });
    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) fail(new OpenAiError("invalid_request", `Field ${name} is too long.`, { param: name }));
      const key = name.endsWith("[]") ? name.slice(0, -2) : name;
      fields.set(key, [...(fields.get(key) ?? []), value]);
    });
    parser.on("file", (name, stream, info) => {
      if (name !== "file" || file !== undefined) {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      // A body that ends inside the file fails the file stream too; the parser's own error answers.
      stream.on("error", () => undefined);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("limit", () => fail(tooLarge(maxFileBytes)));
      stream.on("end", () => {
        file = { bytes: Buffer.concat(chunks), filename: info.filename ?? "", mimeType: info.mimeType };
      });
    });
    parser.on("filesLimit", () => undefined);
    parser.on("fieldsLimit", () => fail(new OpenAiError("invalid_request", `At most ${MAX_FIELDS} fields.`)));
    parser.on("error", (error: Error) => {
      request.unpipe(parser);
      request.resume();
      reject(failure ?? new OpenAiError("invalid_request", `Malformed multipart body: ${error.message}`));
    });
    parser.on("close", () => (failure ? reject(failure) : resolve({ file, fields })));
    // The client went away mid-upload: nobody is left to answer (the route only closes the response).
    request.on("error", () => undefined);
    request.on("close", () => {
      if (!request.complete) reject(failure ?? new OpenAiError("invalid_request", "The upload was aborted."));
    });
    request.pipe(parser);
  });
}

function tooLarge(maxFileBytes: number, bytes?: number): OpenAiError {
  const read = bytes === undefined ? "" : ` (${bytes} bytes sent)`;
  return new OpenAiError("file_too_large", `Maximum content size limit (${maxFileBytes}) exceeded${read}.`, {
    param: "file",
  });
}
