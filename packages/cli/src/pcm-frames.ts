/** Re-cuts a stream of 16 kHz PCM chunks of any size into frames of `size` samples (the last may be shorter). */
export async function* frames(chunks: AsyncIterable<Int16Array> | Iterable<Int16Array>, size: number) {
  let pending = new Int16Array(size);
  let filled = 0;
  for await (const chunk of chunks) {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(size - filled, chunk.length - offset);
      pending.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === size) {
        yield pending;
        // A fresh frame: the one yielded may still be queued in the client.
        pending = new Int16Array(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield pending.subarray(0, filled);
}
