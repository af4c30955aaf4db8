/**
 * A loopback TLS terminator in front of a plain server, as a deployment's proxy is (deploy/): for
 * clients that insist on `wss:`, such as AssemblyAI's SDK. Its certificate (test/fixtures/tls/) is a
 * throwaway self-signed one for `localhost` and 127.0.0.1; the SDK takes no TLS options, so a test
 * that uses it turns certificate checks off for its own process (`trustTestCertificate`).
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { createServer, type TLSSocket } from "node:tls";

const FIXTURES = new URL("../../../test/fixtures/tls/", import.meta.url);

export interface TlsFront {
  /** `https://127.0.0.1:<port>`: the same server as `target`, behind TLS. */
  readonly url: string;
  close(): Promise<void>;
}

export async function tlsFront(target: string): Promise<TlsFront> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<TLSSocket>();
  const server = createServer(
    { key: readFileSync(new URL("key.pem", FIXTURES)), cert: readFileSync(new URL("cert.pem", FIXTURES)) },
    (secure) => {
      sockets.add(secure);
      const plain = connect(Number(port), hostname);
      secure.pipe(plain).pipe(secure);
      const end = () => {
        secure.destroy();
        plain.destroy();
        sockets.delete(secure);
      };
      secure.on("error", end).on("close", end);
      plain.on("error", end).on("close", end);
    },
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${address.port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

/** This test process accepts the fixture's self-signed certificate (it takes any: loopback only). */
export function trustTestCertificate(): void {
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
}
