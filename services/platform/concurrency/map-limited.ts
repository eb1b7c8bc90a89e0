/**
 * `items.map(fn)` with at most `limit` calls in flight; results keep the order of `items`. `limit`
 * workers each take the next item when their last call settles, so a slow call holds one slot
 * only. The first rejection rejects the whole (calls already started still run to their end).
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
