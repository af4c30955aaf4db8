/**
 * One command to a test's or bench's HAProxy on its runtime API (`stats socket … level admin`):
 * HAProxy answers and closes the connection. (`earshot rolling-restart` has its own, with a
 * timeout: packages/cli/src/haproxy-runtime.ts.)
 */
import { connect } from "node:net";

export function haproxyCommand(socket: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = connect(socket);
    let answer = "";
    client.on("data", (chunk: Buffer) => {
      answer += chunk;
    });
    client.once("error", reject);
    client.once("end", () => resolve(answer));
    client.end(`${line}\n`);
  });
}
