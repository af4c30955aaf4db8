import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRequestTarget } from "./request-target.js";

const pathOf = (target: string) => {
  const parsed = parseRequestTarget(target);
  assert.ok(parsed.ok, `${target}: ${parsed.ok ? "" : parsed.message}`);
  return parsed.pathname;
};

describe("parseRequestTarget", () => {
  it("reads origin-form: the path with dot segments removed, and the query", () => {
    assert.equal(pathOf("/healthz"), "/healthz");
    assert.equal(pathOf("/v1/../healthz"), "/healthz");
    assert.equal(pathOf("/.."), "/");
    assert.equal(pathOf("/%2e%2e/x"), "/x");
    assert.equal(pathOf("/a%20b"), "/a%20b");
    const parsed = parseRequestTarget("/v1/audio/transcriptions/stream?resume_token=rt_x&a=[1]|2");
    assert.ok(parsed.ok);
    assert.equal(parsed.searchParams.get("resume_token"), "rt_x");
    assert.equal(parsed.searchParams.get("a"), "[1]|2");
  });

  it("keeps a path that starts with // a path (not a host)", () => {
    assert.equal(pathOf("//healthz"), "//healthz");
    assert.equal(pathOf("//evil.example/healthz"), "//evil.example/healthz");
    assert.equal(pathOf("//"), "//");
  });

  it("reads absolute-form, which a server must accept", () => {
    assert.equal(pathOf("http://earshot.example/healthz"), "/healthz");
    assert.equal(pathOf("HTTPS://a:b@x:1/readyz?q=1"), "/readyz");
    assert.equal(pathOf("ws://x/v1/audio/transcriptions/stream"), "/v1/audio/transcriptions/stream");
    assert.equal(pathOf("http://x"), "/");
  });

  it("refuses what is not a valid target, without throwing", () => {
    for (const target of [
      undefined,
      "",
      "//[",
      "//[::1",
      "/[",
      "/a]b",
      "/%",
      "/%zz",
      "/a%2",
      "/a\\b",
      "/a|b",
      "/a b",
      "/a#b",
      "/?q#f",
      "http://[::1",
      "http://[",
      "http://x:99999/",
      "http://x/%",
      "http://x/[",
      "*",
      "x",
      "example.com:443",
      "mailto:a@b",
      "ftp://x/",
      "?q",
      "\u0000",
      "/é",
    ]) {
      const parsed = parseRequestTarget(target);
      assert.equal(parsed.ok, false, String(target));
      assert.ok(!parsed.ok && parsed.message.length > 0);
    }
  });
});
