/**
 * The kinds of metric the server defines. Numbers the audio path adds to (no labels, no allocation
 * per frame) are read when scraped: `scrapedGauge` and `scrapedCounter`. Counters by label start
 * every label at 0, so each series is exported (and can be alerted on) before its first event.
 */
import { Counter, Gauge, type Registry } from "prom-client";

/** A gauge set from `read()` when scraped. */
export function scrapedGauge(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A counter whose total is kept elsewhere as a plain number, and read when scraped. */
export function scrapedCounter(registry: Registry, name: string, help: string, readTotal: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(readTotal());
    },
  });
}

/** A counter by one label, every value of which is exported from the start (at 0). */
export function labelledCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  label: L,
  values: readonly string[],
): Counter<L> {
  const counter = new Counter<L>({ name, help, labelNames: [label], registers: [registry] });
  for (const value of values) counter.inc({ [label]: value } as Record<L, string>, 0);
  return counter;
}
