import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EngineUnavailableError } from "./contract.js";
import { type PoolMember, WorkerPool } from "./worker-pool.js";

/** A member that is a plain object: `die()` is its crash. */
class FakeMember implements PoolMember {
  alive = true;
  streamCount = 0;
  stopped = false;
  readonly id: number;
  readonly #crashed: () => void;

  constructor(id: number, crashed: () => void) {
    this.id = id;
    this.#crashed = crashed;
  }

  async stop(): Promise<void> {
    this.alive = false;
    this.stopped = true;
  }

  die(): void {
    this.alive = false;
    this.#crashed();
  }
}

/** Starts members on demand: each start waits until the test settles it. */
class Starter {
  readonly started: FakeMember[] = [];
  readonly #waiting: Array<{ crashed: () => void; resolve: (m: FakeMember) => void; reject: (e: Error) => void }> = [];

  get waiting(): number {
    return this.#waiting.length;
  }

  readonly start = (crashed: () => void): Promise<FakeMember> =>
    new Promise((resolve, reject) => this.#waiting.push({ crashed, resolve, reject }));

  /** The oldest start succeeds. */
  succeed(): FakeMember {
    const next = this.#waiting.shift();
    assert.ok(next, "no start is waiting");
    const member = new FakeMember(this.started.length, next.crashed);
    this.started.push(member);
    next.resolve(member);
    return member;
  }

  /** The oldest start fails. */
  fail(error: Error): void {
    const next = this.#waiting.shift();
    assert.ok(next, "no start is waiting");
    next.reject(error);
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function pool(size: number, onCrash?: (member: FakeMember) => void) {
  const starter = new Starter();
  const workers = new WorkerPool<FakeMember>({
    engine: "fake",
    size,
    start: starter.start,
    ...(onCrash ? { onCrash } : {}),
  });
  return { starter, workers };
}

async function started(size: number, onCrash?: (member: FakeMember) => void) {
  const made = pool(size, onCrash);
  const starting = made.workers.start();
  for (let i = 0; i < size; i++) made.starter.succeed();
  await starting;
  return made;
}

describe("WorkerPool", () => {
  test("starts `size` members, at least one", async () => {
    const { starter, workers } = await started(3);
    assert.deepEqual(
      workers.members.map((m) => m.id),
      [0, 1, 2],
    );
    assert.equal(starter.waiting, 0);
    const one = pool(0.5);
    const starting = one.workers.start();
    assert.equal(one.starter.waiting, 1);
    one.starter.succeed();
    await starting;
    assert.equal(one.workers.members.length, 1);
  });

  test("a failed start stops the members that did start and rejects with the failure", async () => {
    const { starter, workers } = pool(3);
    const starting = workers.start();
    const first = starter.succeed();
    starter.fail(new EngineUnavailableError("no model"));
    const third = starter.succeed();
    await assert.rejects(starting, /no model/);
    assert.ok(first.stopped && third.stopped);
    assert.equal(workers.members.length, 0);
  });

  test("a member that crashes before the others have started is replaced, not kept", async () => {
    const { starter, workers } = pool(2);
    const starting = workers.start();
    const early = starter.succeed();
    await settle();
    early.die();
    starter.succeed();
    const replacement = starter.succeed();
    await starting;
    assert.deepEqual(
      workers.members.map((m) => m.id),
      [2, 1],
    );
    assert.ok(!workers.members.includes(early) && workers.members.includes(replacement));
  });

  test("stopped while starting: the members are stopped and start rejects", async () => {
    const { starter, workers } = pool(2);
    const starting = workers.start();
    starter.succeed();
    const stopping = workers.stop();
    starter.succeed();
    await assert.rejects(starting, (error: Error) => {
      assert.ok(error instanceof EngineUnavailableError);
      assert.match(error.message, /fake engine closed while loading/);
      return true;
    });
    await stopping;
    assert.ok(starter.started.every((m) => m.stopped));
    assert.equal(workers.members.length, 0);
  });

  test("leastLoaded picks the live member with the fewest streams", async () => {
    const { workers } = await started(3);
    const [a, b, c] = workers.members;
    assert.ok(a && b && c);
    a.streamCount = 2;
    b.streamCount = 1;
    c.streamCount = 1;
    assert.equal(workers.leastLoaded(), b);
    b.alive = false;
    assert.equal(workers.leastLoaded(), c);
    assert.equal(await workers.acquire(), c);
  });

  test("a crashed member leaves, is reported, and a replacement joins", async () => {
    const reported: FakeMember[] = [];
    const { starter, workers } = await started(2, (member) => reported.push(member));
    const [crashed, other] = workers.members;
    assert.ok(crashed && other);
    crashed.die();
    assert.deepEqual(reported, [crashed]);
    assert.deepEqual(workers.members, [other]);
    assert.equal(starter.waiting, 1);
    const replacement = starter.succeed();
    await settle();
    assert.deepEqual(workers.members, [other, replacement]);
  });

  test("each of two crashes gets its own replacement", async () => {
    const { starter, workers } = await started(2);
    for (const member of [...workers.members]) member.die();
    assert.equal(starter.waiting, 2);
    starter.succeed();
    starter.succeed();
    await settle();
    assert.equal(workers.members.length, 2);
  });

  test("with every member crashed, acquire waits for the replacement instead of starting another", async () => {
    const { starter, workers } = await started(1);
    workers.members[0]?.die();
    const acquired = workers.acquire();
    assert.equal(starter.waiting, 1);
    const replacement = starter.succeed();
    assert.equal(await acquired, replacement);
  });

  test("a replacement that fails leaves the slot empty; acquire starts one and reports why it cannot", async () => {
    const { starter, workers } = await started(1);
    workers.members[0]?.die();
    starter.fail(new EngineUnavailableError("library gone"));
    await settle();
    assert.equal(workers.members.length, 0);
    assert.equal(workers.leastLoaded(), undefined);
    const failing = workers.acquire();
    starter.fail(new EngineUnavailableError("library still gone"));
    await assert.rejects(failing, /library still gone/);
    const acquired = workers.acquire();
    const fresh = starter.succeed();
    assert.equal(await acquired, fresh);
    assert.deepEqual(workers.members, [fresh]);
  });

  test("stop stops every member, and a replacement that arrives afterwards", async () => {
    const { starter, workers } = await started(2);
    const [crashed, other] = workers.members;
    assert.ok(crashed && other);
    crashed.die();
    await workers.stop();
    assert.ok(other.stopped);
    const late = starter.succeed();
    await settle();
    assert.ok(late.stopped);
    assert.equal(workers.members.length, 0);
    await assert.rejects(workers.acquire(), /fake engine is closed/);
  });

  test("a stopped pool replaces no crashed member", async () => {
    const { starter, workers } = await started(1);
    const member = workers.members[0];
    await workers.stop();
    member?.die();
    assert.equal(starter.waiting, 0);
  });
});
