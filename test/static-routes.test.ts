/**
 * Static routes (the demo page): only the routes in the table answer, GET and HEAD only, with the
 * page's security headers; a path that walks out of a route is a 404, never a file.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { rawRequest as get } from "./helpers/http-probe.js";

const PAGE = { contentType: "text/html; charset=utf-8", body: Buffer.from("<!doctype html><p>hi</p>") };

describe("static routes", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: ["k"], staticRoutes: new Map([["/", PAGE]]) });
    ({ url } = await server.listen({ port: 0 }));
  });
  after(() => server.close());

  it("serves a route from the table with the page's security headers", async () => {
    const page = await get(url, "/");
    assert.equal(page.status, 200);
    assert.equal(page.body, PAGE.body.toString());
    assert.equal(page.headers["content-type"], PAGE.contentType);
    assert.match(String(page.headers["content-security-policy"]), /default-src 'self'/);
    assert.equal(page.headers["x-content-type-options"], "nosniff");
    const head = await get(url, "/", "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal((await get(url, "/", "POST")).status, 405);
  });

  it("answers 404 for anything else, traversal included", async () => {
    for (const path of ["/index.html", "/../package.json", "/demo/../../package.json", "/%2e%2e/package.json"]) {
      const answer = await get(url, path);
      assert.equal(answer.status, 404, path);
      assert.equal(JSON.parse(answer.body).code, "not_found", path);
    }
  });
});
