/**
 * A TCP proxy for fault injection (tests and soak runs): it sits between a client and a server on
 * 127.0.0.1 and can cut every connection (both sides see an abrupt drop: a FIN or a RST, chosen by
 * the seed), stall them (nothing flows for a while, nobody closes: a half-open link the heartbeats
 * must catch when it lasts), and delay each chunk (order kept). `startChaos()` does all of this at
 * random moments from a seed, so a run's choices can be replayed.
 *
 * Every buffer is bounded: a lane that holds more than `MAX_QUEUED_BYTES` (a stall, a delay) stops
 * reading its source, so the sender sees TCP backpressure, as on a real congested link.
 */
import net from "node:net";
import { between, mulberry32, type Random } from "./seeded-random.js";

export interface FaultProxyOptions {
  /** The server behind the proxy. */
  readonly target: { readonly host: string; readonly port: number };
  /** Seeds every random choice (fault times, kinds, stall lengths, delays). */
  readonly seed: number;
}

export interface ChaosOptions {
  /** Wait between two faults (after a stall: from its end), uniform in [min, max] ms. */
  readonly cutEveryMs: readonly [min: number, max: number];
  /** Chance that a fault is a stall rather than a cut (default 0). */
  readonly stallProbability?: number;
  /** How long a stall holds all traffic, uniform in [min, max] ms (default [200, 2000]). */
  readonly stallMs?: readonly [min: number, max: number];
  /** Extra delay of every chunk in both directions, uniform in [min, max] ms (default none). */
  readonly delayMs?: readonly [min: number, max: number];
}

export interface FaultCounts {
  /** Connections accepted. */
  readonly connections: number;
  /** Live connections cut (by `cutAll()` or chaos). */
  readonly cuts: number;
  /** Stalls applied to at least one live connection. */
  readonly stalls: number;
  /** Chunks forwarded later than they arrived (delay or stall). */
  readonly delayedChunks: number;
}

/** A lane stops reading its source above this many queued bytes. */
const MAX_QUEUED_BYTES = 1024 * 1024;

/** One direction of a link: forwards chunks in order, each no earlier than its due time. */
class Lane {
  readonly #from: net.Socket;
  readonly #to: net.Socket;
  readonly #delayMs: () => number;
  readonly #queue: { dueAt: number; chunk: Buffer }[] = [];
  #queuedBytes = 0;
  #heldUntil = 0;
  #ending = false;
  #timer: NodeJS.Timeout | undefined;
  delayedChunks = 0;

  constructor(from: net.Socket, to: net.Socket, delayMs: () => number) {
    this.#from = from;
    this.#to = to;
    this.#delayMs = delayMs;
    from.on("data", (chunk: Buffer) => this.#onData(chunk));
    from.on("end", () => {
      this.#ending = true;
      this.#flush();
    });
    to.on("drain", () => this.#updateFlow());
  }

  /** Forward nothing before `until` (a stall). */
  hold(until: number): void {
    this.#heldUntil = Math.max(this.#heldUntil, until);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#queue.length = 0;
    this.#queuedBytes = 0;
  }

  #onData(chunk: Buffer): void {
    const now = Date.now();
    const delay = this.#delayMs();
    if (this.#queue.length === 0 && delay <= 0 && now >= this.#heldUntil) {
      this.#write(chunk);
      return;
    }
    this.delayedChunks += 1;
    this.#queue.push({ dueAt: now + delay, chunk });
    this.#queuedBytes += chunk.byteLength;
    this.#flush();
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = Date.now();
    for (let head = this.#queue[0]; head !== undefined; head = this.#queue[0]) {
      const wait = Math.max(head.dueAt, this.#heldUntil) - now;
      if (wait > 0) {
        this.#timer = setTimeout(() => this.#flush(), wait);
        break;
      }
      this.#queue.shift();
      this.#queuedBytes -= head.chunk.byteLength;
      this.#write(head.chunk);
    }
    if (this.#ending && this.#queue.length === 0 && !this.#to.destroyed) this.#to.end();
    this.#updateFlow();
  }

  #write(chunk: Buffer): void {
    if (!this.#to.destroyed) this.#to.write(chunk);
    this.#updateFlow();
  }

  /** Read the source only while the queue and the destination have room (backpressure). */
  #updateFlow(): void {
    if (this.#from.destroyed) return;
    if (this.#queuedBytes > MAX_QUEUED_BYTES || this.#to.writableNeedDrain) this.#from.pause();
    else this.#from.resume();
  }
}

/** A client connection and its upstream twin. */
class Link {
  readonly #sockets: readonly net.Socket[];
  readonly #lanes: readonly Lane[];
  #closed = false;

  constructor(client: net.Socket, upstream: net.Socket, delayMs: () => number, onClosed: (link: Link) => void) {
    this.#sockets = [client, upstream];
    this.#lanes = [new Lane(client, upstream, delayMs), new Lane(upstream, client, delayMs)];
    const close = () => {
      if (this.#closed) return;
      this.#closed = true;
      for (const lane of this.#lanes) lane.dispose();
      for (const socket of this.#sockets) socket.destroy();
      onClosed(this);
    };
    for (const socket of this.#sockets) {
      socket.on("error", close);
      // Half-closes are forwarded by the lanes (a clean close ends both sides in turn); an error
      // on either side ends the other at once.
      socket.on("close", (hadError) => {
        if (hadError || this.#sockets.every((s) => s.destroyed)) close();
      });
    }
  }

  get delayedChunks(): number {
    return this.#lanes.reduce((n, lane) => n + lane.delayedChunks, 0);
  }

  hold(until: number): void {
    for (const lane of this.#lanes) lane.hold(until);
  }

  /** Both sides at once, as a network failure: a FIN (`destroy`) or a RST (`resetAndDestroy`). */
  cut(reset: boolean): void {
    for (const socket of this.#sockets) {
      if (reset && socket.readyState === "open") socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}

export class FaultProxy implements AsyncDisposable {
  readonly #target: FaultProxyOptions["target"];
  readonly #random: Random;
  readonly #links = new Set<Link>();
  readonly #server = net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
  #chaos: ChaosOptions | undefined;
  #chaosTimer: NodeJS.Timeout | undefined;
  #connections = 0;
  #cuts = 0;
  #stalls = 0;
  /** Delayed chunks of links already closed. */
  #delayedChunksClosed = 0;

  constructor(options: FaultProxyOptions) {
    this.#target = options.target;
    this.#random = mulberry32(options.seed);
  }

  /** Binds 127.0.0.1 on a free port; resolves with the proxy's base URL (`http://127.0.0.1:port`). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", () => resolve());
    });
    return `http://127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  get counts(): FaultCounts {
    let delayedChunks = this.#delayedChunksClosed;
    for (const link of this.#links) delayedChunks += link.delayedChunks;
    return { connections: this.#connections, cuts: this.#cuts, stalls: this.#stalls, delayedChunks };
  }

  /** Live connections right now. */
  get openLinks(): number {
    return this.#links.size;
  }

  /** Cuts every live connection; returns how many. */
  cutAll(): number {
    const links = [...this.#links];
    for (const link of links) link.cut(this.#random() < 0.5);
    this.#cuts += links.length;
    return links.length;
  }

  /** Holds all traffic of the live connections for `ms`; returns how many were stalled. */
  stallAll(ms: number): number {
    const until = Date.now() + ms;
    for (const link of this.#links) link.hold(until);
    if (this.#links.size > 0) this.#stalls += 1;
    return this.#links.size;
  }

  /** Faults at random moments until `stopChaos()`; chunk delays apply to every chunk from now on. */
  startChaos(options: ChaosOptions): void {
    this.stopChaos();
    this.#chaos = options;
    this.#scheduleFault();
  }

  stopChaos(): void {
    clearTimeout(this.#chaosTimer);
    this.#chaosTimer = undefined;
    this.#chaos = undefined;
  }

  /** Stops chaos, drops every connection (not counted as cuts), stops listening. Idempotent. */
  async close(): Promise<void> {
    this.stopChaos();
    for (const link of [...this.#links]) link.cut(false);
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The next fault, `afterMs` (a stall in progress: it runs its course) plus the chosen wait. */
  #scheduleFault(afterMs = 0): void {
    const chaos = this.#chaos;
    if (!chaos) return;
    const [min, max] = chaos.cutEveryMs;
    this.#chaosTimer = setTimeout(
      () => {
        let stallMs = 0;
        if (this.#random() < (chaos.stallProbability ?? 0)) {
          const [shortest, longest] = chaos.stallMs ?? [200, 2000];
          stallMs = between(this.#random, shortest, longest);
          this.stallAll(stallMs);
        } else this.cutAll();
        this.#scheduleFault(stallMs);
      },
      afterMs + between(this.#random, min, max),
    );
  }

  #chunkDelayMs(): number {
    const range = this.#chaos?.delayMs;
    return range ? between(this.#random, range[0], range[1]) : 0;
  }

  #accept(client: net.Socket): void {
    this.#connections += 1;
    const upstream = net.connect({ host: this.#target.host, port: this.#target.port, allowHalfOpen: true });
    const link = new Link(
      client,
      upstream,
      () => this.#chunkDelayMs(),
      (closed) => {
        this.#delayedChunksClosed += closed.delayedChunks;
        this.#links.delete(closed);
      },
    );
    this.#links.add(link);
  }
}
