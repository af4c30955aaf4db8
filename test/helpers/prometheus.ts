/** Reads Prometheus text exposition into samples, for tests that scrape `/metrics`. */

/** Samples by series, e.g. `earshot_errors_total{code="bad_json"}` → 1. */
export type Samples = ReadonlyMap<string, number>;

export function parseSamples(text: string): Samples {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The value of a series; throws when the scrape does not have it (so a missing metric fails loudly). */
export function sample(samples: Samples, series: string): number {
  const value = samples.get(series);
  if (value === undefined) throw new Error(`no series ${series} in the scrape`);
  return value;
}

export async function scrape(baseUrl: string, headers: Record<string, string> = {}): Promise<Samples> {
  const response = await fetch(`${baseUrl}/metrics`, { headers });
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return parseSamples(await response.text());
}
