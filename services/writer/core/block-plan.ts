/**
 * Deterministic insert blocks, so a retried or replayed insert carries the same
 * insert_deduplication_token and ClickHouse drops it.
 *
 * A block is a contiguous offset range [first, last] of one topic-partition. Before inserting it,
 * the writer commits an *intent* (offset = first, metadata = "pending:<last>"). After a crash, the
 * restarted writer reads that intent and cuts its first block at exactly <last> again, so the block
 * and its token are the same as before the crash, whatever batch sizes Kafka hands out this time.
 */
export const INTENT_PREFIX = 'pending:';

export function intentMetadata(lastOffset: string): string {
  return `${INTENT_PREFIX}${lastOffset}`;
}

/** The last offset of an interrupted block, from committed offset metadata, or null. */
export function parseIntent(metadata: string | null | undefined): bigint | null {
  if (!metadata || !metadata.startsWith(INTENT_PREFIX)) return null;
  const raw = metadata.slice(INTENT_PREFIX.length);
  return /^\d+$/.test(raw) ? BigInt(raw) : null;
}

export function blockToken(topic: string, partition: number, first: bigint, last: bigint): string {
  return `${topic}:${partition}:${first}-${last}`;
}

/** Splits a block's rows into insert chunks of at most `maxRows`, each with a derived token. */
export function chunkBlock<T>(rows: T[], token: string, maxRows: number): Array<{ rows: T[]; token: string }> {
  if (rows.length <= maxRows) return [{ rows, token }];
  const chunks: Array<{ rows: T[]; token: string }> = [];
  for (let i = 0, n = 0; i < rows.length; i += maxRows, n++) chunks.push({ rows: rows.slice(i, i + maxRows), token: `${token}#${n}` });
  return chunks;
}

export type BlockCut = { kind: 'cut'; end: bigint } | { kind: 'wait' };

/**
 * Where the next block ends. While replaying an interrupted block, exactly at its recorded end
 * (waiting until the buffer reaches it); otherwise at the buffer's last offset.
 */
export function cutBlock(bufferFirst: bigint, bufferLast: bigint, forcedEnd: bigint | null): BlockCut {
  if (forcedEnd !== null && forcedEnd >= bufferFirst) {
    return forcedEnd <= bufferLast ? { kind: 'cut', end: forcedEnd } : { kind: 'wait' };
  }
  return { kind: 'cut', end: bufferLast };
}
