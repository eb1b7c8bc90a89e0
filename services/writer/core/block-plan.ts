/**
 * Deterministic insert blocks that span a topic's partitions, so a retried or replayed insert
 * carries the same insert_deduplication_token and ClickHouse drops it.
 *
 * A block is one offset range per member partition of one topic (one table): [first, last] of each
 * partition the writer buffered rows for when it cut the block. Its token names every range
 * (`topic:p:first-last,p:first-last,...`; a one-partition block keeps the old `topic:p:first-last`).
 *
 * Before inserting, the writer commits an *intent* on every member partition: offset = the range's
 * first, metadata = `block:<every member's range>`. Only when every intent is durable does it insert;
 * afterwards it commits each member at last + 1 with metadata `done:<ranges>` (the *done marker*).
 * So every member of an interrupted block names the whole block, and a restarted writer can rebuild
 * it exactly, whatever batch sizes Kafka hands out this time (see `resolveReplay`).
 */

export interface OffsetRange {
  partition: number;
  first: bigint;
  last: bigint;
}

/** A block: the topic and its members' ranges, sorted by partition, one range per partition. */
export interface BlockSpec {
  topic: string;
  ranges: OffsetRange[];
}

export interface Committed {
  offset: bigint;
  metadata: string | null;
}

export const INTENT_PREFIX = 'block:';
export const DONE_PREFIX = 'done:';
/** The intent format of writers before blocks spanned partitions: `pending:<last>`, first = committed offset. */
export const LEGACY_INTENT_PREFIX = 'pending:';
/**
 * Kafka refuses commit metadata above offset.metadata.max.bytes (4,096 by default): a block has at
 * most as many members as fit in this many characters (~150 partitions).
 */
export const MAX_DESCRIPTOR_CHARS = 3_500;

export function describeRanges(ranges: OffsetRange[]): string {
  return ranges.map((r) => `${r.partition}:${r.first}-${r.last}`).join(',');
}

export function parseRanges(text: string): OffsetRange[] | null {
  if (text === '') return null;
  const ranges: OffsetRange[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+):(\d+)-(\d+)$/.exec(part);
    if (!m) return null;
    const range = { partition: Number(m[1]), first: BigInt(m[2]!), last: BigInt(m[3]!) };
    if (range.last < range.first) return null;
    const previous = ranges[ranges.length - 1];
    if (previous && previous.partition >= range.partition) return null;
    ranges.push(range);
  }
  return ranges;
}

export function blockToken(spec: BlockSpec): string {
  return `${spec.topic}:${describeRanges(spec.ranges)}`;
}

/**
 * The token of the part of an interrupted block that one writer re-inserts alone (its members were
 * split across writers): distinct per set of partitions, so two writers' parts never drop each
 * other, and the same again if that part is itself interrupted and replayed with the same members.
 */
export function partToken(spec: BlockSpec, partitions: number[]): string {
  return `${blockToken(spec)}|part:${[...partitions].sort((a, b) => a - b).join('+')}`;
}

export const sameRanges = (a: OffsetRange[], b: OffsetRange[]): boolean => describeRanges(a) === describeRanges(b);

export function intentMetadata(spec: BlockSpec): string {
  return `${INTENT_PREFIX}${describeRanges(spec.ranges)}`;
}

export function doneMetadata(spec: BlockSpec): string {
  return `${DONE_PREFIX}${describeRanges(spec.ranges)}`;
}

export type CommitMark = { kind: 'intent'; ranges: OffsetRange[] } | { kind: 'done'; ranges: OffsetRange[] } | { kind: 'none' };

/** What a partition's committed metadata says (the legacy intent becomes a one-member block). */
export function parseCommitMark(partition: number, committed: Committed): CommitMark {
  const metadata = committed.metadata;
  if (!metadata) return { kind: 'none' };
  if (metadata.startsWith(INTENT_PREFIX)) {
    const ranges = parseRanges(metadata.slice(INTENT_PREFIX.length));
    return ranges ? { kind: 'intent', ranges } : { kind: 'none' };
  }
  if (metadata.startsWith(DONE_PREFIX)) {
    const ranges = parseRanges(metadata.slice(DONE_PREFIX.length));
    return ranges ? { kind: 'done', ranges } : { kind: 'none' };
  }
  if (metadata.startsWith(LEGACY_INTENT_PREFIX)) {
    const raw = metadata.slice(LEGACY_INTENT_PREFIX.length);
    if (!/^\d+$/.test(raw) || committed.offset < 0n || BigInt(raw) < committed.offset) return { kind: 'none' };
    return { kind: 'intent', ranges: [{ partition, first: committed.offset, last: BigInt(raw) }] };
  }
  return { kind: 'none' };
}

/**
 * The interrupted block a newly assigned partition must replay before anything else, or null: its
 * committed metadata is an intent whose own range starts at the committed offset.
 */
export function pendingBlock(topic: string, partition: number, committed: Committed): BlockSpec | null {
  const mark = parseCommitMark(partition, committed);
  if (mark.kind !== 'intent') return null;
  const own = mark.ranges.find((r) => r.partition === partition);
  return own && own.first === committed.offset ? { topic, ranges: mark.ranges } : null;
}

/** Splits a block's rows into insert chunks of at most `maxRows`, each with a derived token. */
export function chunkBlock<T>(rows: T[], token: string, maxRows: number): Array<{ rows: T[]; token: string }> {
  if (rows.length <= maxRows) return [{ rows, token }];
  const chunks: Array<{ rows: T[]; token: string }> = [];
  for (let i = 0, n = 0; i < rows.length; i += maxRows, n++) chunks.push({ rows: rows.slice(i, i + maxRows), token: `${token}#${n}` });
  return chunks;
}

// ---------------------------------------------------------------------------------------------
// Cutting a new block

/** One partition's buffer, as the planner sees it (only partitions with nothing to replay). */
export interface BufferView {
  partition: number;
  /** Offsets of the first and last buffered record (control records and undecodable ones count). */
  first: bigint;
  last: bigint;
  records: number;
  /** When the oldest buffered record arrived (ms). */
  oldestAt: number;
}

export interface CutOptions {
  /** Cut once the partitions together buffer this many records... */
  blockRows: number;
  /** ...or once the oldest has waited this long (ms). */
  maxAgeMs: number;
  now: number;
  /** Cut whatever is buffered (a stop). */
  force?: boolean;
  maxDescriptorChars?: number;
}

/**
 * The next block of one table: every buffered record of every partition, cut when together they
 * reach `blockRows` or the oldest reaches `maxAgeMs`; null while neither holds. Members are taken in
 * partition order while the intent metadata stays under Kafka's limit.
 */
export function cutBlock(topic: string, buffers: BufferView[], options: CutOptions): BlockSpec | null {
  const nonEmpty = buffers.filter((b) => b.records > 0).sort((a, b) => a.partition - b.partition);
  if (nonEmpty.length === 0) return null;
  const records = nonEmpty.reduce((n, b) => n + b.records, 0);
  const oldest = Math.min(...nonEmpty.map((b) => b.oldestAt));
  if (!options.force && records < options.blockRows && options.now - oldest < options.maxAgeMs) return null;
  const limit = options.maxDescriptorChars ?? MAX_DESCRIPTOR_CHARS;
  const ranges: OffsetRange[] = [];
  let chars = 0;
  for (const b of nonEmpty) {
    const range = { partition: b.partition, first: b.first, last: b.last };
    const more = describeRanges([range]).length + (ranges.length > 0 ? 1 : 0);
    if (ranges.length > 0 && chars + more > limit) break;
    ranges.push(range);
    chars += more;
  }
  return { topic, ranges };
}

/** When the next block will be due by age alone (ms), or null with nothing buffered. */
export function nextDueAt(buffers: BufferView[], maxAgeMs: number): number | null {
  const nonEmpty = buffers.filter((b) => b.records > 0);
  return nonEmpty.length === 0 ? null : Math.min(...nonEmpty.map((b) => b.oldestAt)) + maxAgeMs;
}

// ---------------------------------------------------------------------------------------------
// Replaying an interrupted block

/**
 * What this writer knows about one member of an interrupted block:
 * - `held`: assigned here, its committed intent is this block (its records from `first` on are
 *   being fetched again);
 * - `done`: committed at last + 1 with this block's done marker: the whole block was inserted;
 * - `not-started`: committed at (or before) its first with another mark: its intent never became
 *   durable, so the block was never inserted (a writer inserts only after every intent);
 * - `elsewhere`: its intent is committed, but another writer holds it (or it is not fetched here yet);
 * - `moved`: committed past its range without this block's done marker (a part re-inserted
 *   elsewhere, or the marker overwritten by a later block): whether the whole block was inserted
 *   can no longer be told;
 * - `unknown`: nothing known yet.
 */
export type MemberState = 'held' | 'done' | 'not-started' | 'elsewhere' | 'moved' | 'unknown';

export function memberState(spec: BlockSpec, range: OffsetRange, committed: Committed | undefined, heldHere: boolean): MemberState {
  if (!committed) return 'unknown';
  const mark = parseCommitMark(range.partition, committed);
  const ours = (mark.kind === 'intent' || mark.kind === 'done') && sameRanges(mark.ranges, spec.ranges);
  if (committed.offset === range.first && mark.kind === 'intent' && ours) return heldHere ? 'held' : 'elsewhere';
  if (committed.offset === range.last + 1n && mark.kind === 'done' && ours) return 'done';
  if (committed.offset <= range.first) return 'not-started';
  return 'moved';
}

export type ReplayDecision =
  /** Re-insert the whole block with its own token: ClickHouse drops it if it was inserted. */
  | { kind: 'full'; token: string; ranges: OffsetRange[] }
  /**
   * Insert only the members held here, with a token of their own. If the whole block had been
   * inserted before, these rows are now in the table twice (until ReplacingMergeTree merges them).
   * `mayDuplicate` is false when the block is known never to have been inserted.
   */
  | { kind: 'part'; token: string; ranges: OffsetRange[]; mayDuplicate: boolean }
  /** The whole block is known to be inserted: commit the members held here without inserting. */
  | { kind: 'skip'; ranges: OffsetRange[] }
  /** Members are held by no one known yet: ask again later (until the deadline). */
  | { kind: 'wait' };

/**
 * How to replay an interrupted block, from what is known about each member. A writer holding every
 * member rebuilds the same block with the same token (the common case: a crash, then the same or
 * one other writer takes all the partitions). If members were split across writers, each writer
 * waits up to a deadline for them to come its way (or for a done marker), then inserts its own part.
 */
export function resolveReplay(spec: BlockSpec, states: ReadonlyMap<number, MemberState>, deadlinePassed: boolean): ReplayDecision {
  const state = (p: number) => states.get(p) ?? 'unknown';
  const held = spec.ranges.filter((r) => state(r.partition) === 'held');
  const all = spec.ranges.map((r) => state(r.partition));
  if (all.includes('done')) return { kind: 'skip', ranges: held };
  if (held.length === spec.ranges.length) return { kind: 'full', token: blockToken(spec), ranges: held };
  if (held.length === 0) return { kind: 'wait' };
  const part = (mayDuplicate: boolean): ReplayDecision => ({ kind: 'part', token: partToken(spec, held.map((r) => r.partition)), ranges: held, mayDuplicate });
  if (all.includes('not-started')) return part(false);
  const undecided = all.some((s) => s === 'elsewhere' || s === 'unknown');
  if (undecided && !deadlinePassed) return { kind: 'wait' };
  return part(true);
}
