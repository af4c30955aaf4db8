/**
 * HAProxy's runtime API on its stats socket (`stats socket … level admin`): one command per
 * connection, the answer is what HAProxy writes before it closes. Used by `earshot rolling-restart`
 * to take a node out of the balancer (`state drain`) and put it back (`state ready`).
 */
import { connect } from "node:net";

export class HaproxyRuntime {
  readonly #socket: string;

  /** `socket`: the stats socket's path. */
  constructor(socket: string) {
    this.#socket = socket;
  }

  command(line: string, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const client = connect(this.#socket);
      let answer = "";
      client.setTimeout(timeoutMs, () => client.destroy(new Error(`no answer from HAProxy to "${line}"`)));
      client.on("data", (chunk: Buffer) => {
        answer += chunk;
      });
      client.once("error", reject);
      client.once("close", () => resolve(answer));
      client.end(`${line}\n`);
    });
  }

  /** Sets a server's admin state; rejects when HAProxy answers with an error. */
  async setState(backend: string, server: string, state: "drain" | "ready" | "maint"): Promise<void> {
    const answer = (await this.command(`set server ${backend}/${server} state ${state}`)).trim();
    if (answer !== "") throw new Error(`HAProxy: set server ${backend}/${server} state ${state}: ${answer}`);
  }

  /** Whether the server is up (its health checks pass) and ready (admin state). */
  async isUp(backend: string, server: string): Promise<boolean> {
    const rows = (await this.command(`show servers state ${backend}`)).split("\n");
    // Fields: be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state …; op state 2 = up.
    const row = rows.map((line) => line.split(" ")).find((fields) => fields[1] === backend && fields[3] === server);
    return row?.[5] === "2" && row[6] === "0";
  }
}
