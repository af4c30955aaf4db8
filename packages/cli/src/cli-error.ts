import { defineError } from "@earshot/protocol";

export interface CliErrorFields {
  /** 2 (the default) for a usage error, 1 for a failure to do what was asked. */
  readonly exitCode: number;
}

/** An error the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends defineError<"cli_error", CliErrorFields>("CliError", "cli_error", () => ({
  exitCode: 2,
})) {}
