/**
 * The guards on a real Node HTTP server, with handlers that fail on purpose (what a bug would do):
 * each failure is answered on its own socket and logged without credentials, and the server goes
 * on serving. An unguarded failure would end this test process.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import net, { type AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { HttpGuards } from "./http-guards.js";

/** Writes `request`, reads until the server closes (or `waitMs` passes), as Latin-1 text. */
async function exchange(port: number, request: string, waitMs = 2000): Promise<string> {
  const socket = net.connect({ host: "127.0.0.1", port });
  let received = "";
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
  });
  socket.on("error", () => {});
  socket.write(request);
  const timer = setTimeout(() => socket.destroy(), waitMs);
  await once(socket, "close");
  clearTimeout(timer);
  return received;
}

const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as Record<string, unknown>;

describe("HttpGuards", () => {
  let server: Server;
  let port: number;
  const logged: string[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logged.push(String(chunk));
        done();
      },
    });
    const guards = new HttpGuards(pino({ level: "debug" }, sink));
    server = createServer(
      guards.request(async (request, response) => {
        const path = request.url?.split("?")[0];
        if (path === "/throws") throw new Error("a bug in a route");
        if (path === "/rejects-later") {
          await new Promise((resolve) => setTimeout(resolve, 10));
          throw new Error("a bug after an await");
        }
        if (path === "/throws-mid-answer") {
          response.writeHead(200, { "content-length": "100" });
          response.write("part of the body");
          throw new Error("a bug mid-answer");
        }
        response.end("ok");
      }),
    );
    server.on("clientError", guards.clientError);
    server.on(
      "upgrade",
      guards.upgrade((request, socket) => {
        if (request.url === "/after-101") socket.write("HTTP/1.1 101 Switching Protocols\r\n\r\n");
        throw new Error("a bug in the upgrade handler");
      }),
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  it("a request handler that throws or rejects: 500 internal_error, logged without credentials", async () => {
    for (const path of ["/throws", "/rejects-later"]) {
      const answer = await exchange(
        port,
        `GET ${path}?resume_token=rt_secret HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_secret\r\n\r\n`,
      );
      assert.match(answer, /^HTTP\/1\.1 500 /);
      assert.deepEqual(bodyOf(answer), {
        code: "internal_error",
        message: "The server failed while handling this request (a bug: it is logged). Retry.",
        retryable: true,
      });
    }
    const failures = logged.filter((line) => line.includes("HTTP request handler failed"));
    assert.equal(failures.length, 2);
    assert.match(failures[0] ?? "", /"path":"\/throws"/);
    assert.doesNotMatch(failures.join(""), /secret/);
    assert.match(
      await exchange(port, "GET /fine HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
      /^HTTP\/1\.1 200 /,
    );
  });

  it("a request handler that fails mid-answer: the socket is cut, nothing is added to the answer", async () => {
    const answer = await exchange(port, "GET /throws-mid-answer HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.ok(answer.endsWith("part of the body"), answer);
  });

  it("an upgrade handler that throws: 500 internal_error on the raw socket, or a cut after a 101", async () => {
    const upgrade = (path: string) =>
      `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`;
    const answer = await exchange(port, upgrade("/anything"));
    assert.match(answer, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.equal(bodyOf(answer).code, "internal_error");
    assert.equal(await exchange(port, upgrade("/after-101")), "HTTP/1.1 101 Switching Protocols\r\n\r\n");
  });

  it("a request Node's parser refuses: 400, or 431 for headers over the limit, with bad_request", async () => {
    const bad = await exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n");
    assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.deepEqual(bodyOf(bad), {
      code: "bad_request",
      message: "The request is not valid HTTP/1.1 (HPE_INVALID_HEADER_TOKEN).",
      retryable: false,
    });
    const big = await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"v".repeat(20_000)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.equal(bodyOf(big).code, "bad_request");
    assert.match(
      await exchange(port, "GET /fine HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
      /^HTTP\/1\.1 200 /,
    );
  });
});
