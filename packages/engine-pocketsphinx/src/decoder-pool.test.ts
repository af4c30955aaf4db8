/**
 * The pool's rules without the native library: decoders are plain objects made by a function the
 * test controls, so growth, waiting, failure and shrinking happen exactly when the test says.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DecoderPool, type DecoderPoolOptions } from "./decoder-pool.js";

interface Fake {
  readonly id: number;
  freed: boolean;
}

/** A pool whose `make` resolves only when the test calls `finish` (or fails with `refuse`). */
function harness(options: Partial<DecoderPoolOptions<Fake>> = {}) {
  let next = 1;
  let clock = 0;
  const pending: Array<{ resolve: (fake: Fake) => void; reject: (error: Error) => void }> = [];
  let immediate = true;
  const pool = new DecoderPool<Fake>({
    make: () =>
      immediate
        ? Promise.resolve({ id: next++, freed: false })
        : new Promise<Fake>((resolve, reject) => pending.push({ resolve, reject })),
    destroy: (fake) => {
      fake.freed = true;
    },
    min: 2,
    max: 4,
    idleMs: 1_000,
    now: () => clock,
    ...options,
  });
  return {
    pool,
    /** From now on, makes wait for `finish`. */
    hold: () => {
      immediate = false;
    },
    pendingMakes: () => pending.length,
    finish: () => pending.shift()?.resolve({ id: next++, freed: false }),
    refuse: (message: string) => pending.shift()?.reject(new Error(message)),
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("DecoderPool", () => {
  test("start makes the warm decoders; peek shows one, borrow and give back reuse them, the last given back first", async () => {
    const { pool } = harness();
    await pool.start();
    assert.deepEqual(pool.stats, {
      size: 2,
      free: 2,
      lent: 0,
      making: 0,
      waiting: 0,
      created: { startup: 2, background: 0 },
      destroyed: 0,
      waits: 0,
      failures: 0,
    });
    const peeked = pool.peek();
    assert.ok(peeked);
    assert.equal(pool.stats.free, 2, "peek lends nothing");
    const a = pool.borrow();
    assert.equal(a, peeked);
    assert.equal(pool.stats.lent, 1);
    pool.giveBack(a);
    assert.equal(pool.borrow(), a);
  });

  test("borrowing the last free decoder grows the pool in the background, up to max", async () => {
    const { pool, hold, finish, pendingMakes } = harness();
    await pool.start();
    hold();
    const lent = [pool.borrow(), pool.borrow()];
    assert.ok(lent.every(Boolean));
    // None free: one is being made (lowWater 1), not on the caller's path.
    assert.equal(pendingMakes(), 1);
    assert.equal(pool.stats.making, 1);
    finish();
    await settle();
    assert.deepEqual([pool.stats.size, pool.stats.free, pool.stats.created.background], [3, 1, 1]);
    const third = pool.borrow();
    assert.ok(third);
    finish();
    await settle();
    assert.equal(pool.stats.size, 4);
    pool.borrow();
    // At max: no more are made.
    assert.equal(pendingMakes(), 0);
    assert.equal(pool.borrow(), undefined);
  });

  test("a stream that finds none free waits in line and gets the next one given back or made, in order", async () => {
    const { pool, hold, finish } = harness({ max: 3 });
    await pool.start();
    hold();
    const a = pool.borrow();
    const b = pool.borrow();
    assert.ok(a && b);
    const got: Array<[string, Fake]> = [];
    pool.wait(
      (fake) => got.push(["first", fake]),
      () => assert.fail("no failure expected"),
    );
    pool.wait(
      (fake) => got.push(["second", fake]),
      () => assert.fail("no failure expected"),
    );
    assert.equal(pool.stats.waiting, 2);
    assert.equal(pool.stats.waits, 2);
    pool.giveBack(a);
    assert.deepEqual(got, [["first", a]]);
    finish();
    await settle();
    assert.equal(got.length, 2);
    assert.equal(got[1]?.[0], "second");
    assert.equal(pool.stats.waiting, 0);
  });

  test("a cancelled wait leaves the line", async () => {
    const { pool, hold } = harness({ min: 1, max: 1 });
    await pool.start();
    hold();
    const a = pool.borrow();
    assert.ok(a);
    let taken = false;
    const cancel = pool.wait(
      () => {
        taken = true;
      },
      () => undefined,
    );
    cancel();
    pool.giveBack(a);
    assert.equal(taken, false);
    assert.equal(pool.stats.free, 1);
  });

  test("when making fails and nothing is lent, the waiters are told instead of waiting forever", async () => {
    const { pool, hold, refuse, pendingMakes } = harness({ min: 0, max: 2 });
    await pool.start();
    hold();
    const failures: string[] = [];
    pool.wait(
      () => assert.fail("nothing can come"),
      (error) => failures.push(error.message),
    );
    // One for the waiter and one spare are being made.
    assert.equal(pendingMakes(), 2);
    refuse("ps_init failed");
    await settle();
    assert.deepEqual(failures, [], "another is still being made");
    refuse("ps_init failed");
    await settle();
    assert.deepEqual(failures, ["ps_init failed"]);
    assert.equal(pool.stats.failures, 2);
  });

  test("a failed decoder is discarded and replaced", async () => {
    const { pool, hold, finish } = harness({ min: 1, max: 2 });
    await pool.start();
    hold();
    const a = pool.borrow();
    assert.ok(a);
    finish();
    await settle();
    assert.equal(pool.stats.size, 2);
    const b = pool.borrow();
    assert.ok(b);
    pool.discard(a);
    assert.equal(a.freed, true);
    assert.equal(pool.stats.size, 1);
    assert.equal(pool.stats.destroyed, 1);
    finish();
    await settle();
    assert.equal(pool.stats.size, 2);
  });

  test("shrink frees decoders idle past idleMs beyond the warm ones, the longest idle first", async () => {
    const { pool, hold, finish, advance } = harness({ min: 1, max: 3 });
    await pool.start();
    hold();
    const a = pool.borrow();
    finish();
    await settle();
    const b = pool.borrow();
    finish();
    await settle();
    const c = pool.borrow();
    assert.ok(a && b && c);
    pool.giveBack(a);
    advance(600);
    pool.giveBack(b);
    pool.giveBack(c);
    advance(500);
    // a has been idle 1100 ms, b and c 500 ms.
    assert.equal(pool.shrink(), 1);
    assert.equal(a.freed, true);
    advance(600);
    assert.equal(pool.shrink(), 1);
    // Never below min.
    advance(10_000);
    assert.equal(pool.shrink(), 0);
    assert.equal(pool.stats.size, 1);
  });

  test("close frees the free decoders; one given back later is freed too", async () => {
    const { pool } = harness();
    await pool.start();
    const a = pool.borrow();
    assert.ok(a);
    pool.close();
    assert.equal(pool.stats.free, 0);
    pool.giveBack(a);
    assert.equal(a.freed, true);
    assert.equal(pool.stats.size, 0);
  });
});
