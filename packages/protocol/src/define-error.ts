/**
 * The one way earshot declares an error class (after fastify's `@fastify/error`): every class has a
 * `name`, a stable `code`, an optional `cause`, and the typed fields its errors carry (`retryable`,
 * `file`, `exitCode` …), with defaults per code. No dependencies, so browser code can import it
 * (`@earshot/protocol/define-error`) without the schemas and zod.
 *
 * ```ts
 * // One code: `new EngineUnavailableError(message, { cause })`.
 * export class EngineUnavailableError extends defineError("EngineUnavailableError", "engine_unavailable") {}
 * // A family of codes: `new AudioFormatError("invalid_wav", message)`.
 * export class AudioFormatError extends defineError<AudioErrorCode>("AudioFormatError") {}
 * ```
 */

/** Keys of `Fields` whose type does not admit `undefined`: the defaults must give them. */
type DefaultedKeys<Fields> = { [K in keyof Fields]-?: undefined extends Fields[K] ? never : K }[keyof Fields];

/** The fields an error takes when its constructor's options leave them out, by code. */
export type FieldDefaults<Code extends string, Fields> = (
  code: Code,
) => Pick<Fields, DefaultedKeys<Fields>> & Partial<Fields>;

/** A defined error's last constructor argument: its cause, and any of its fields (undefined: the default). */
export type DefinedErrorOptions<Fields> = { readonly cause?: unknown } & {
  readonly [K in keyof Fields]?: Fields[K] | undefined;
};

export type DefinedError<Code extends string, Fields> = Error & { readonly code: Code } & Readonly<Fields>;

/** Fields with no `undefined` in their type need defaults; otherwise the defaults are optional. */
type DefaultsArgument<Code extends string, Fields> = [DefaultedKeys<Fields>] extends [never]
  ? [defaults?: FieldDefaults<Code, Fields>]
  : [defaults: FieldDefaults<Code, Fields>];

type NoFields = Record<never, never>;

/** A class whose errors all have `code`: `new E(message, options?)`. */
export function defineError<const Code extends string, Fields extends object = NoFields>(
  name: string,
  code: Code,
  ...defaults: DefaultsArgument<Code, Fields>
): new (
  message: string,
  options?: DefinedErrorOptions<Fields>,
) => DefinedError<Code, Fields>;
/** A class whose errors each have one of `Code`: `new E(code, message, options?)`. */
export function defineError<Code extends string, Fields extends object = NoFields>(
  name: string,
  ...defaults: DefaultsArgument<Code, Fields>
): new (
  code: Code,
  message: string,
  options?: DefinedErrorOptions<Fields>,
) => DefinedError<Code, Fields>;
export function defineError(
  name: string,
  codeOrDefaults?: string | FieldDefaults<string, object>,
  defaultsOfCode?: FieldDefaults<string, object>,
): new (
  ...args: never[]
) => Error {
  const fixedCode = typeof codeOrDefaults === "string" ? codeOrDefaults : undefined;
  const defaults = typeof codeOrDefaults === "function" ? codeOrDefaults : defaultsOfCode;
  return class extends Error {
    readonly code: string;

    constructor(...args: unknown[]) {
      const [code, message, options = {}] = (fixedCode === undefined ? args : [fixedCode, ...args]) as [
        string,
        string,
        DefinedErrorOptions<Record<string, unknown>>?,
      ];
      const { cause, ...fields } = options;
      super(message, cause === undefined ? undefined : { cause });
      this.name = name;
      this.code = code;
      Object.assign(this, defaults?.(code));
      for (const [field, value] of Object.entries(fields)) {
        if (value !== undefined) Object.assign(this, { [field]: value });
      }
    }
  };
}
