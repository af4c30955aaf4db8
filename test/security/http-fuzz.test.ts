/**
 * Issue 13, "no input can crash the process", at the HTTP layer: 10,000+ seeded hostile HTTP/1.1
 * requests (helpers/hostile-http.ts: bad methods, targets such as `//[`, `/%`, `http://[::1`, `*`,
 * absolute-form, `..`, raw UTF-8, control bytes, over-long; bad versions and line endings; bad
 * header names and values, duplicates, conflicting lengths, obs-fold, bare LF, NULs, headers over
 * the limit; plain and as WebSocket upgrades, to every route), each on its own raw TCP socket,
 * against a real `earshot serve` process, while a WebSocket stream runs alongside.
 *
 * Every request must get an HTTP answer: from a route, from the server's guards (400
 * `bad_request` for a target that is not a valid path or URL), from Node's parser via our
 * `clientError` answer (400, 431 for headers over the limit, 413), from Node itself (a bare 400
 * for a missing Host, 417 for an unknown Expect), or from `ws` for a broken handshake (400, 405,
 * plain text). Two of Node's parser's decisions are not answers at once: a CONNECT is closed
 * without one (the server has no `connect` listener, so Node destroys the socket), and a request
 * the parser still needs bytes for (`PRI` waits for the rest of an HTTP/2 preface) is answered
 * once the client half-closes (400). Never a 5xx other than 503 (at capacity), never a JSON error
 * with an undocumented code, never silence.
 * Afterwards the process is alive, `/healthz` and `/readyz` answer 200, the stream that ran
 * alongside got exactly the transcript of a run without the fuzz, and a new stream does too.
 *
 * A failing case is replayed from its number: `hostileHttpRequest(seeded(`${SEED}/${n}`), KEY)`.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ERRORS } from "@earshot/protocol";
import { type HttpCase, hostileHttpRequest } from "../helpers/hostile-http.js";
import { sample, scrape } from "../helpers/prometheus.js";
import { type RawAnswer, rawHttp } from "../helpers/raw-http.js";
import { seeded } from "../helpers/seeded-random.js";
import { killAllServers, serveTestEngine } from "../helpers/serve-process.js";
import { bursts, toBytes } from "../helpers/signals.js";
import { type Received, WireClient } from "../helpers/ws-client.js";

const KEY = "fuzz-key";
const SEED = "issue-13-http-fuzz";
const CASES = 10_500;
const WORKERS = 32;
/** Statuses a hostile request may get; a 500 is a handler that failed. */
const ANSWERS = new Set([101, 200, 400, 401, 404, 405, 408, 413, 417, 426, 429, 431, 503]);
/** Five utterances with pauses, 6.3 s, streamed in real time beside the fuzz. */
const SIGNAL = bursts([800, 400, 1000, 600, 200].map((toneMs) => ({ toneMs, silenceMs: 700 })));
const CHUNK_MS = 100;
/** Generous, for a loaded CI machine: a request Node's parser waits on gets a half-close after 2 s. */
const ANSWER_WAIT = { halfCloseAfterMs: 2000, timeoutMs: 10_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Tally {
  readonly kinds = new Map<string, number>();
  readonly statuses = new Map<string, number>();
  /** By case number, so the first one shown is the first that went wrong (the one a crash followed). */
  readonly #violations = new Map<number, string>();
  cases = 0;

  get violations(): string[] {
    return [...this.#violations].sort(([a], [b]) => a - b).map(([, text]) => text);
  }

  add(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  #violate(n: number, text: string): void {
    const earlier = this.#violations.get(n);
    this.#violations.set(n, earlier ? `${earlier}; ${text}` : text);
  }

  /** Records one exchange; a violation names the case so it can be replayed. */
  check(n: number, request: HttpCase, answer: RawAnswer): void {
    this.cases += 1;
    this.add(this.kinds, request.kind);
    const shown = `case ${n} (${request.kind}${request.upgrade ? ", upgrade" : ""}): ${JSON.stringify(
      request.bytes.toString("latin1").slice(0, 120),
    )}`;
    if (answer.ending !== "answered") {
      this.add(
        this.statuses,
        `${answer.ending}${request.connect ? " (CONNECT)" : ""}${answer.afterHalfClose ? " (after a half-close)" : ""}`,
      );
      // Node destroys a CONNECT it has no listener for; anything else must be answered.
      if (!(request.connect && (answer.ending === "closed" || answer.ending === "reset"))) {
        this.#violate(n, `${shown}: no answer (${answer.ending})`);
      }
      return;
    }
    const status = answer.status ?? 0;
    this.add(this.statuses, `${status}${answer.afterHalfClose ? " (after a half-close)" : ""}`);
    if (!ANSWERS.has(status)) this.#violate(n, `${shown}: answered ${status}`);
    if (status < 400 || request.head || !/^application\/json/.test(answer.headers["content-type"] ?? "")) return;
    let body: { code?: unknown; retryable?: unknown; status?: unknown };
    try {
      body = JSON.parse(answer.body.toString("utf8")) as typeof body;
    } catch {
      this.#violate(n, `${shown}: ${status} with a body that is not JSON`);
      return;
    }
    if (status === 503 && body.status === "at_capacity") return; // /readyz under load
    const code = String(body.code);
    if (!Object.hasOwn(ERRORS, code)) this.#violate(n, `${shown}: undocumented code ${code}`);
    else if (body.retryable !== ERRORS[code as keyof typeof ERRORS].retryable) {
      this.#violate(n, `${shown}: ${code} with retryable ${String(body.retryable)}`);
    }
    if (code === "internal_error") this.#violate(n, `${shown}: internal_error (a handler failed)`);
  }
}

/** A WebSocket stream of SIGNAL at `speed` × real time (Infinity: all at once); its finals. */
async function stream(url: string, speed: number): Promise<Received[]> {
  const client = await WireClient.open(url, KEY);
  client.sendJson({ type: "config", config: { language: "en", timestamp_granularity: "word" } });
  await client.waitFor((m) => m.type === "session_started");
  const bytes = toBytes(SIGNAL);
  const chunkBytes = (CHUNK_MS * 16_000 * 2) / 1000;
  const startedAt = Date.now();
  for (let at = 0, i = 1; at < bytes.byteLength; at += chunkBytes, i++) {
    assert.equal(client.ws.readyState, client.ws.OPEN, "the stream's socket closed");
    client.sendBinary(bytes.subarray(at, at + chunkBytes));
    if (Number.isFinite(speed)) await sleep(Math.max(0, startedAt + (i * CHUNK_MS) / speed - Date.now()));
  }
  client.sendJson({ type: "close_stream" });
  await client.waitFor((m) => m.type === "stream_closed", 20_000, "stream_closed");
  assert.equal((await client.closed).code, 1000);
  assert.deepEqual(
    client.messages.filter((m) => m.type === "error"),
    [],
  );
  return client.finals();
}

const summary = (finals: readonly Received[]) =>
  finals.map(({ segment_id, text, start_ms, end_ms, words }) => ({ segment_id, text, start_ms, end_ms, words }));

describe("HTTP fuzz", () => {
  after(killAllServers);

  it(`${CASES} hostile HTTP requests: every one answered, the server lives, a stream alongside is exact`, {
    timeout: 120_000,
  }, async (t) => {
    const served = await serveTestEngine(0, KEY);
    const reference = await stream(served.url, Number.POSITIVE_INFINITY);
    assert.equal(reference.length, 5);

    const tally = new Tally();
    const startedAt = Date.now();
    let next = 0;
    const alive = () => served.process.exitCode === null && served.process.signalCode === null;
    const worker = async () => {
      // A crash fails every case after it: stop at once rather than count thousands of refusals.
      while (next < CASES && alive()) {
        const n = next++;
        const request = hostileHttpRequest(seeded(`${SEED}/${n}`), KEY);
        tally.check(n, request, await rawHttp(served.port, request.bytes, { ...ANSWER_WAIT, head: request.head }));
      }
    };
    const alongside = stream(served.url, 1);
    alongside.catch(() => {}); // awaited below, after the fuzz
    await Promise.all(Array.from({ length: WORKERS }, worker));
    const fuzzMs = Date.now() - startedAt;
    t.diagnostic(`${tally.cases} requests in ${fuzzMs} ms`);
    t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries([...tally.statuses].sort()))}`);
    t.diagnostic(`cases by kind: ${JSON.stringify(Object.fromEntries([...tally.kinds].sort()))}`);

    const died = `the server process ended; the first requests (by case number) that went wrong: ${tally.violations.slice(0, 3).join("; ")}`;
    assert.equal(served.process.exitCode, null, died);
    assert.equal(served.process.signalCode, null, died);
    assert.deepEqual(tally.violations.slice(0, 15), [], `${tally.violations.length} requests answered wrongly`);
    assert.ok(tally.cases >= 10_000);

    assert.deepEqual(summary(await alongside), summary(reference), "the stream that ran alongside");
    assert.equal((await fetch(`${served.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${served.url}/readyz`)).status, 200);
    assert.deepEqual(summary(await stream(served.url, Number.POSITIVE_INFINITY)), summary(reference));
    const samples = await scrape(served.url);
    assert.ok(sample(samples, 'earshot_connections_refused_total{reason="bad_request"}') > 0);
    served.process.kill("SIGKILL");
  });
});
