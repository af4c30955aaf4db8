/** Waits on an EarshotClient that the streaming commands share. */
import type { EarshotClient } from "@earshot/client";

/** A function, not an inline test: TypeScript would keep the narrowing from the loop's `break`. */
export const isClosed = (client: EarshotClient): boolean => client.state === "closed";

/** Resolves at the next final (which lets the replay buffer forget audio), a state change, or 1 s. */
export function finalOrClose(client: EarshotClient): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(), 1000);
    const offFinal = client.on("final", () => done());
    const offState = client.on("state", () => done());
    function done() {
      clearTimeout(timer);
      offFinal();
      offState();
      resolve();
    }
  });
}

/** Resolves when the client's send queue empties, or the connection ends. */
export function drained(client: EarshotClient): Promise<void> {
  return new Promise((resolve) => {
    const offDrain = client.once("drain", () => done());
    const offState = client.on("state", ({ to }) => {
      if (to === "closed") done();
    });
    function done() {
      offDrain();
      offState();
      resolve();
    }
  });
}
