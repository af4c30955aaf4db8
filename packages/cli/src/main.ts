/**
 * `earshot` command line: thin over the packages. Exit codes: 0 ok, 1 runtime failure, 2 bad usage
 * or unreadable input.
 */
import { CliError } from "./cli-error.js";

const USAGE = `usage: earshot <command> [options]

commands:
  serve        run the transcription server (HTTP + WebSocket)
  transcribe   stream an audio file to a server and print the transcript
  mic          stream a microphone to a server
  devices      list the microphones mic can use
  models       list, pull, verify or remove neural models (sherpa-onnx)
  drain        drain a node: its streams move to other nodes, then it exits
  rolling-restart
               restart a cluster's nodes one at a time (HAProxy + drain), losing no word

run "earshot <command> --help" for a command's options`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return (await import("./commands/serve.js")).serve(rest);
    case "transcribe":
      return (await import("./commands/transcribe.js")).transcribe(rest);
    case "mic":
      return (await import("./commands/mic.js")).mic(rest);
    case "models":
      return (await import("./commands/models.js")).models(rest);
    case "drain":
      return (await import("./commands/drain.js")).drain(rest);
    case "rolling-restart":
      return (await import("./commands/rolling-restart.js")).rollingRestart(rest);
    case "devices":
      return (await import("./commands/devices.js")).devices(rest);
    case undefined:
    case "-h":
    case "--help":
    case "help":
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new CliError(`unknown command "${command}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`earshot: ${message}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  },
);
