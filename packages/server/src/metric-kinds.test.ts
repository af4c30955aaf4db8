import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { labelledCounter, scrapedCounter, scrapedGauge } from "./metric-kinds.js";

/** The value of one series in the registry's exposition text. */
async function seriesValue(registry: Registry, series: string): Promise<number | undefined> {
  for (const line of (await registry.metrics()).split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe("metric kinds", () => {
  it("a scraped gauge reads its value at each scrape", async () => {
    const registry = new Registry();
    let value = 3;
    scrapedGauge(registry, "test_gauge", "A gauge.", () => value);
    assert.equal(await seriesValue(registry, "test_gauge"), 3);
    value = 1;
    assert.equal(await seriesValue(registry, "test_gauge"), 1);
  });

  it("a scraped counter reports the running total, not the sum of every scrape", async () => {
    const registry = new Registry();
    let total = 2.5;
    scrapedCounter(registry, "test_total", "A total.", () => total);
    assert.equal(await seriesValue(registry, "test_total"), 2.5);
    assert.equal(await seriesValue(registry, "test_total"), 2.5);
    total = 4;
    assert.equal(await seriesValue(registry, "test_total"), 4);
  });

  it("a labelled counter exports every label value at 0 before its first event", async () => {
    const registry = new Registry();
    const counter = labelledCounter(registry, "test_by_reason_total", "By reason.", "reason", ["a", "b"]);
    assert.equal(await seriesValue(registry, 'test_by_reason_total{reason="a"}'), 0);
    assert.equal(await seriesValue(registry, 'test_by_reason_total{reason="b"}'), 0);
    counter.inc({ reason: "b" });
    assert.equal(await seriesValue(registry, 'test_by_reason_total{reason="a"}'), 0);
    assert.equal(await seriesValue(registry, 'test_by_reason_total{reason="b"}'), 1);
  });
});
