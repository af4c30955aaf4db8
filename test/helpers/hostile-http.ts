/**
 * Seeded hostile HTTP/1.1 requests, as raw bytes, for the HTTP fuzz test: a request to one of the
 * server's routes (plain, or as a WebSocket upgrade), then one to three of its parts made hostile:
 * the method, the target (`//[`, `/%`, `http://[::1`, `*`, absolute-form, `..`, raw UTF-8, control
 * bytes, over-long), the version, the line endings, the headers (bad names and values, duplicates,
 * conflicting lengths, obs-fold, NULs, over the size limit) or the body.
 */
import { randomBytes } from "node:crypto";
import type { Seeded } from "./seeded-random.js";

export interface HttpCase {
  /** What was made hostile, for the tally: `target`, `headers+version`, ... */
  readonly kind: string;
  readonly upgrade: boolean;
  readonly bytes: Buffer;
  /** The method is exactly HEAD: the answer has no body. */
  readonly head: boolean;
  /** The method is exactly CONNECT: Node closes such a request (no `connect` listener) without an answer. */
  readonly connect: boolean;
}

const STREAM_PATH = "/v1/audio/transcriptions/stream";
/** Every route of `earshot serve` (the demo page's included), and one that is not. */
const ROUTES = [
  "/",
  "/healthz",
  "/readyz",
  "/metrics",
  "/v1/auth/token",
  STREAM_PATH,
  "/demo/styles.css",
  "/nope",
] as const;

const METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
  "TRACE",
  "CONNECT",
  "PROPFIND",
  "SEARCH",
  "M-SEARCH",
  "PRI",
  "QUERY",
  "get",
  "Get",
  "GETT",
  "G ET",
  "GE\u0000T",
  "GET\t",
  "",
  " GET",
  "POST ",
  "X".repeat(64),
  "GÉT",
  "\u00ff\u00fe",
  "{}",
];

const VERSIONS = [
  "HTTP/1.0",
  "HTTP/0.9",
  "HTTP/2.0",
  "HTTP/2",
  "HTTP/3.0",
  "HTTP/1.2",
  "HTTP/9.9",
  "HTTP/1.11",
  "HTTP/1.",
  "HTTP/",
  "HTTP",
  "http/1.1",
  "HTTPS/1.1",
  "HTTP/1.1 x",
  "HTTP/ 1.1",
  "HTTP/1.1\u0000",
  "",
];

/** Targets with nothing of the route in them. */
const BAD_TARGETS = [
  "//[",
  "//[::1",
  "//[/healthz",
  "/[",
  "/%",
  "/%%",
  "/%zz",
  "/%2",
  "/%00",
  "/%ff%fe",
  "/%c0%af",
  "http://[::1",
  "http://[",
  "http://[::1]:99999/",
  "http://x:99999/",
  "http://:80/",
  "http:///healthz",
  "https://user:pass@[::1]:80/healthz",
  "ws://[v1.x]/",
  "*",
  "**",
  "127.0.0.1:80",
  "example.com:443",
  "//",
  "///",
  "/#",
  "/?#",
  "?",
  "#",
  "x",
  "mailto:a@b",
  "ftp://x/",
  "data:,x",
  "javascript:alert(1)",
  "file:///etc/passwd",
  "\\\\x\\y",
  "/\\",
  "/a b",
  "/..",
  "/../../../../etc/passwd",
  "/.%2e/.%2e/etc/passwd",
  "/%2e%2e%2f%2e%2e%2f",
  "/....//....//",
  "/./././.",
  "/;",
  "/@",
  "/?%",
  '/?[]=|^{}`"<>\\',
  "",
];

/** Ways to make a route's target hostile. */
const TARGET_MUTATIONS: readonly ((random: Seeded, route: string) => string)[] = [
  (random) => random.pick(BAD_TARGETS),
  (_, route) => `//${route}`,
  (_, route) => `//[${route}`,
  (_, route) => `//x${route}`,
  (_, route) => `${route}%`,
  (_, route) => `${route}/..`,
  (_, route) => `/x/..${route}`,
  (_, route) => `/%2e%2e${route}`,
  (_, route) => `${route}#frag`,
  (_, route) => route.replaceAll("/", "\\"),
  (_, route) => route.toUpperCase(),
  (random, route) => `${route}?${random.pick(QUERIES)}`,
  (random, route) => `${random.pick(["http", "https", "ws", "wss", "HTTP"])}://${random.pick(HOSTS)}${route}`,
  (random, route) => `${route}${random.pick(["é", "😀", "\u00ff", "\u0080", "\uFFFD", "\u202E", "ß"])}`,
  (random, route) => `${route}${String.fromCharCode(random.between(0, 31))}x`,
  (_, route) => `${route}\u007f`,
  (random, route) => `${route}/${"a".repeat(random.pick([1_000, 8_000, 15_000, 17_000, 30_000, 60_000]))}`,
  (random, route) => `${route}?${"q=".repeat(random.between(100, 12_000))}`,
  (random, route) => `${route}${"/..".repeat(random.between(1, 2000))}`,
  (random, route) => `${route}${"%".repeat(random.between(1, 500))}`,
  (random, route) => route.slice(0, random.between(0, route.length)),
];

const HOSTS = ["127.0.0.1", "localhost", "[::1]", "[::1]:8080", "x", "user:pw@x", "a.b.c:0", "[", "%zz", ""];

const QUERIES = [
  "resume_token=rt_AAAA",
  "resume_token=",
  "resume_token",
  "resume_token=%",
  "resume_token=%zz&resume_token=x",
  "resume_token[]=1",
  `resume_token=${"r".repeat(3000)}`,
  "a=[]&b=|&c=^",
  "%",
  "&&&==",
  "%ff%fe",
  "x=é",
  "__proto__=1&constructor=2",
];

const HEADER_MUTATIONS: readonly ((random: Seeded) => string[])[] = [
  () => ["X Bad Name: v"],
  () => [": no name"],
  () => ["NoColon"],
  () => ["X(y): v"],
  () => ["Höst: x"],
  () => ["X-Nul: a\u0000b"],
  (random) => [`X-Ctl: a${String.fromCharCode(random.between(1, 31))}b`],
  () => ["X-Del: a\u007fb"],
  () => ["X-Utf8: héllo 😀"],
  () => ["X-Cr: a\rb"],
  () => ["X-Lf: a\nb"],
  () => ["X-Fold: a", " folded continuation"],
  () => ["X-Fold: a", "\tfolded with a tab"],
  () => [" Leading-Space: v"],
  () => ["Trailing-Space : v"],
  () => ["Host: a", "Host: b"],
  () => ["Host: [::1"],
  () => ["Host:"],
  () => ["Host: x\u0000y"],
  () => ["Content-Length: 1", "Content-Length: 2"],
  () => ["Content-Length: -1"],
  () => ["Content-Length: abc"],
  () => ["Content-Length: 99999999999999999999999"],
  () => ["Content-Length: 0", "Transfer-Encoding: chunked"],
  () => ["Transfer-Encoding: gzip, chunked, identity"],
  () => ["Transfer-Encoding: xchunked"],
  () => ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
  () => ["Expect: 100-continue"],
  () => ["Expect: teapot"],
  () => ["Connection: close, upgrade, keep-alive, x"],
  () => ["Upgrade: h2c", "Connection: Upgrade, HTTP2-Settings", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"],
  () => ["Upgrade: websocket"],
  () => ["Connection: Upgrade"],
  () => ["Authorization: Bearer"],
  () => ["Authorization: Bearer a b c"],
  () => ["Authorization: Bearer wrong-key", "Authorization: Bearer other"],
  () => ["Authorization: Basic Zm9vOmJhcg=="],
  () => ["Authorization: Token \u0000"],
  (random) => [`Authorization: Bearer st_${"A".repeat(random.between(1, 4000))}`],
  () => ["Sec-WebSocket-Protocol: token"],
  () => ["Sec-WebSocket-Protocol: token, st_x, token, , ,"],
  () => ["Sec-WebSocket-Protocol: ,,,"],
  () => ["Sec-WebSocket-Protocol: a b"],
  () => ["Sec-WebSocket-Protocol: token", "Sec-WebSocket-Protocol: st_dup"],
  () => ["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99; x"],
  () => ["Sec-WebSocket-Key: short"],
  () => ["Sec-WebSocket-Key: a", "Sec-WebSocket-Key: b"],
  () => ["Sec-WebSocket-Version: 99"],
  () => ["Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"],
  () => ["Origin: null"],
  () => ["Cookie: a=b; __proto__=c"],
  () => ["Content-Type: application/json; charset=x-unknown"],
  () => ["X-Forwarded-For: 1.2.3.4, [::1], x"],
  (random) => [`X-Big: ${"v".repeat(random.pick([4_000, 12_000, 16_500, 20_000, 40_000]))}`],
  (random) => Array.from({ length: random.pick([100, 500, 2_100]) }, (_, i) => `X-Many-${i}: ${i}`),
  (random) => Array.from({ length: random.between(2, 50) }, () => "Authorization: Bearer x"),
  (random) => [`${"N".repeat(random.pick([300, 20_000]))}: v`],
];

const BODIES = [
  "",
  "{}",
  '{"ttl_seconds":60}',
  '{"ttl_seconds":-1}',
  '{"ttl_seconds":1e999}',
  '{"ttl_seconds":"60"}',
  '{"__proto__":{"ttl_seconds":1}}',
  "[",
  "null",
  "\u0000\u0001",
  "é",
  "[".repeat(600),
  "x".repeat(2000),
];

interface Parts {
  method: string;
  target: string;
  version: string;
  eol: string;
  headers: string[];
  body: string;
  /** Raw bytes to put in place of the request line, or before it. */
  prefix: string;
}

const PART_MUTATIONS: Readonly<Record<string, (random: Seeded, parts: Parts, route: string) => void>> = {
  method(random, parts) {
    parts.method = random.pick(METHODS);
  },
  target(random, parts, route) {
    parts.target = random.pick(TARGET_MUTATIONS)(random, route);
  },
  version(random, parts) {
    parts.version = random.pick(VERSIONS);
  },
  line(random, parts) {
    random.pick([
      () => {
        parts.eol = "\n";
      },
      () => {
        parts.eol = "\r";
      },
      () => {
        parts.eol = "\n\r";
      },
      () => {
        parts.prefix = "\r\n\r\n";
      },
      () => {
        parts.prefix = "\u0000";
      },
      () => {
        parts.prefix = "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003"; // a TLS ClientHello
      },
      () => {
        parts.prefix = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
      },
      () => {
        parts.method = `${parts.method}  `;
      },
      () => {
        parts.target = `${parts.target}\t`;
      },
      () => {
        parts.version = `${parts.version} `;
      },
      () => {
        parts.headers.push("X-A: 1\nX-B: 2"); // one bare LF among CRLFs
      },
    ])();
  },
  headers(random, parts) {
    const extra = random.pick(HEADER_MUTATIONS)(random);
    const at = random.between(0, parts.headers.length);
    parts.headers.splice(at, 0, ...extra);
    if (random.chance(0.2)) parts.headers = parts.headers.filter((h) => !h.startsWith("Host:"));
  },
  body(random, parts) {
    const body = random.pick(BODIES);
    parts.method = random.pick(["POST", "GET", "PUT"]);
    parts.body = body;
    const length = Buffer.byteLength(body, "latin1");
    parts.headers.push(
      ...random.pick([
        [`Content-Length: ${length}`],
        [`Content-Length: ${length}`, "Content-Type: application/json"],
        ["Transfer-Encoding: chunked"],
        [`Content-Length: ${length + 1}`, "Connection: close"],
        [`Content-Length: ${Math.max(0, length - 1)}`],
      ]),
    );
    if (parts.headers.includes("Transfer-Encoding: chunked")) {
      parts.body = random.pick([
        `${length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        `zz\r\n${body}\r\n0\r\n\r\n`,
        `${length.toString(16)};${"e".repeat(random.pick([10, 20_000]))}\r\n${body}\r\n0\r\n\r\n`,
        `-1\r\n\r\n0\r\n\r\n`,
        `${"f".repeat(20)}\r\n${body}\r\n0\r\n\r\n`,
        "0\r\nTrailer: x\r\n\r\n",
      ]);
    }
  },
};

/**
 * Every request is whole: a server rightly waits for a body it was promised, so one shorter than
 * its Content-Length is padded, and a chunked one gets its last chunk. (A longer body is the start
 * of the next request on the connection: garbage, answered after this one.)
 */
function completeBody(parts: Parts): void {
  if (parts.headers.some((h) => /^Transfer-Encoding:.*chunked/i.test(h))) {
    if (!parts.body.endsWith("0\r\n\r\n")) parts.body += "0\r\n\r\n";
    return;
  }
  const lengths = new Set(parts.headers.map((h) => /^Content-Length: (\d{1,6})$/i.exec(h)?.[1]).filter(Boolean));
  const [length] = lengths;
  if (lengths.size === 1 && length !== undefined) parts.body = parts.body.padEnd(Number(length), " ");
}

/** The headers of a WebSocket upgrade, with the right key or without one. */
function upgradeHeaders(random: Seeded, apiKey: string): string[] {
  const headers = [
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
    "Sec-WebSocket-Version: 13",
  ];
  const credential = random.pick([
    "",
    `Authorization: Bearer ${apiKey}`,
    "Authorization: Bearer wrong-key",
    `Sec-WebSocket-Protocol: token, ${apiKey}`,
    "Sec-WebSocket-Protocol: token, st_unknown",
  ]);
  if (credential) headers.push(credential);
  return headers;
}

/** One hostile request. `apiKey` is a real key, so that some upgrades get past authentication. */
export function hostileHttpRequest(random: Seeded, apiKey: string): HttpCase {
  const route = random.pick(ROUTES);
  const upgrade = random.chance(0.35);
  const parts: Parts = {
    method: route === "/v1/auth/token" && !upgrade ? "POST" : "GET",
    target: route,
    version: "HTTP/1.1",
    eol: "\r\n",
    headers: ["Host: 127.0.0.1", ...(upgrade ? upgradeHeaders(random, apiKey) : [])],
    body: "",
    prefix: "",
  };
  if (!upgrade && route === "/v1/auth/token" && random.chance(0.5)) {
    parts.headers.push(`Authorization: Bearer ${random.chance(0.5) ? apiKey : "wrong-key"}`);
  }
  const names = Object.keys(PART_MUTATIONS);
  // Mostly the target and headers (the findings), always at least one part; now and then none.
  const weighted = [...names, "target", "target", "target", "headers", "headers"];
  const chosen = new Set<string>();
  const count = random.chance(0.03) ? 0 : random.pick([1, 1, 1, 2, 2, 3]);
  while (chosen.size < count) chosen.add(random.pick(weighted));
  for (const name of chosen) PART_MUTATIONS[name]?.(random, parts, route);
  completeBody(parts);
  const { eol } = parts;
  const text =
    `${parts.prefix}${parts.method} ${parts.target} ${parts.version}${eol}` +
    parts.headers.map((h) => `${h}${eol}`).join("") +
    `${eol}${parts.body}`;
  return {
    kind: chosen.size === 0 ? "valid" : [...chosen].sort().join("+"),
    upgrade,
    // latin1: one byte per char, so raw UTF-8 (below) and bytes 0x80-0xff go out as written.
    bytes: Buffer.from(utf8Bytes(text), "latin1"),
    head: parts.method === "HEAD",
    connect: parts.method === "CONNECT",
  };
}

/** Non-Latin-1 characters as their UTF-8 bytes; Latin-1 ones (0x80-0xff) stay single raw bytes. */
function utf8Bytes(text: string): string {
  let bytes = "";
  for (const char of text) bytes += char.charCodeAt(0) <= 0xff ? char : Buffer.from(char, "utf8").toString("latin1");
  return bytes;
}
