/**
 * Seeded choices for generated test inputs: SHA-256 of `seed:counter` read as a stream of 32-bit
 * numbers, so the same seed replays the same cases (a failure names its seed and case number) and
 * no test depends on bench.
 */
import { createHash } from "node:crypto";

export interface Seeded {
  /** Uniform in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both included). */
  between(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

export function seeded(seed: string | number): Seeded {
  let counter = 0;
  let block = Buffer.alloc(0);
  let at = 0;
  const next = (): number => {
    if (at + 4 > block.byteLength) {
      block = createHash("sha256").update(`${seed}:${counter++}`).digest();
      at = 0;
    }
    const value = block.readUInt32LE(at) / 4_294_967_296;
    at += 4;
    return value;
  };
  return {
    next,
    between: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick<T>(items: readonly T[]): T {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new RangeError("pick() from an empty list");
      return item;
    },
    chance: (p) => next() < p,
  };
}
