/**
 * Call webhooks against a real receiver: every final, `call_started` and `call_ended` of a call
 * the Twilio simulator plays is POSTed, signed with HMAC-SHA256, and retried with backoff through
 * failures until delivered, each once (deduped by delivery id); a receiver that refuses gets its
 * deliveries dead-lettered, and so does whatever passes the bounded queue.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { sample, scrape } from "./helpers/prometheus.js";
import { bursts } from "./helpers/signals.js";
import { TwilioSimulator } from "./helpers/twilio-simulator.js";

const KEY = "webhook-key";
const AUTH_TOKEN = "webhook-auth-token";
const SECRET = "whsec_test";
const INBOUND = bursts([
  { toneMs: 1000, silenceMs: 500 },
  { toneMs: 600, silenceMs: 700 },
]);

interface Received {
  readonly id: string;
  readonly body: Record<string, unknown>;
}

type Verify = (rawBody: string, header: string, secret: string) => boolean;

/** docs/telephony.md's signature check, as written, as a module. */
async function documentedVerify(): Promise<Verify> {
  const doc = readFileSync(new URL("../../docs/telephony.md", import.meta.url), "utf8");
  const example = /```js\n(import \{ createHmac, timingSafeEqual \}[\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example, "docs/telephony.md has the signature check");
  const module = new URL("webhook-verify-example.mjs", import.meta.url);
  writeFileSync(module, `${example}\nexport { verified };\n`);
  try {
    return ((await import(module.href)) as { verified: Verify }).verified;
  } finally {
    rmSync(module, { force: true });
  }
}

/** A webhook receiver: `answer(attempt of this delivery)` picks the status. */
async function receiver(
  answer: (attempt: number) => number,
): Promise<{ server: Server; url: string; got: Received[] }> {
  const verified = await documentedVerify();
  const got: Received[] = [];
  const attempts = new Map<string, number>();
  const server = createHttpServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const id = String(request.headers["x-earshot-delivery"]);
      const signature = String(request.headers["x-earshot-signature"]);
      assert.ok(verified(body, signature, SECRET), "signed with the secret (checked as docs/telephony.md does)");
      assert.ok(!verified(body, signature, "another secret"));
      assert.ok(!verified(`${body} `, signature, SECRET));
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      const status = answer(attempt);
      if (status === 200) got.push({ id, body: JSON.parse(body) as Record<string, unknown> });
      response.writeHead(status).end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, got };
}

async function playCall(url: string): Promise<string> {
  const twilio = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
  twilio.start({ tracks: ["inbound"] });
  await twilio.play([{ track: "inbound", pcm: INBOUND }], { speed: 4 });
  twilio.stop();
  await twilio.closed;
  return twilio.callSid;
}

async function until(done: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("call webhooks", () => {
  const servers: { close(): unknown }[] = [];

  after(async () => {
    for (const server of servers) await server.close();
  });

  async function earshot(webhookUrl: string, extra: { maxQueued?: number } = {}): Promise<string> {
    const server: EarshotServer = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      twilio: { authToken: AUTH_TOKEN, webhook: { url: webhookUrl, secret: SECRET, baseDelayMs: 20, ...extra } },
    });
    servers.push(server);
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    return url;
  }

  it("delivers start, finals and end, signed, once each, through failures", async () => {
    const hooks = await receiver((attempt) => (attempt <= 2 ? 503 : 200));
    servers.push(hooks.server);
    const url = await earshot(hooks.url);
    const callSid = await playCall(url);
    await until(() => hooks.got.some((r) => r.body.type === "call_ended"));
    const bodies = [...hooks.got].sort((a, b) => Number(a.body.cursor) - Number(b.body.cursor)).map((r) => r.body);
    assert.deepEqual(
      bodies.map((b) => [b.type, b.cursor]),
      [
        ["call_started", 1],
        ["transcript", 2],
        ["transcript", 3],
        ["call_ended", 4],
      ],
    );
    assert.deepEqual(
      bodies.filter((b) => b.type === "transcript").map((b) => [b.text, b.channel, b.speaker, b.call_sid]),
      [
        ["alpha bravo charlie delta echo", 0, "customer", callSid],
        ["hotel india juliett", 0, "customer", callSid],
      ],
    );
    assert.equal(new Set(hooks.got.map((r) => r.id)).size, 4, "one delivery id each");
    const metrics = await scrape(url);
    assert.equal(sample(metrics, 'earshot_webhook_deliveries_total{result="delivered"}'), 4);
    assert.equal(sample(metrics, 'earshot_webhook_deliveries_total{result="retried"}'), 8);
    assert.equal(sample(metrics, 'earshot_webhook_deliveries_total{result="dead_letter"}'), 0);
  });

  it("dead-letters what the receiver refuses, and what passes the bounded queue", async () => {
    const refusing = await receiver(() => 400);
    servers.push(refusing.server);
    const url = await earshot(refusing.url);
    await playCall(url);
    await until(async () => (await deadLetters(url)) === 4);

    const slow = createHttpServer(() => {}); // never answers: deliveries stay in flight
    slow.listen(0, "127.0.0.1");
    await once(slow, "listening");
    servers.push({
      close: () => {
        slow.closeAllConnections();
        slow.close();
      },
    });
    const bounded = await earshot(`http://127.0.0.1:${(slow.address() as AddressInfo).port}/`, { maxQueued: 1 });
    await playCall(bounded);
    await until(async () => (await deadLetters(bounded)) === 3);
  });
});

async function deadLetters(url: string): Promise<number> {
  return sample(await scrape(url), 'earshot_webhook_deliveries_total{result="dead_letter"}');
}
