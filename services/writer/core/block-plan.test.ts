import { describe, expect, it } from 'vitest';
import {
  blockToken,
  chunkBlock,
  cutBlock,
  doneMetadata,
  intentMetadata,
  memberState,
  nextDueAt,
  parseCommitMark,
  partToken,
  pendingBlock,
  resolveReplay,
  type BlockSpec,
  type BufferView,
  type Committed,
  type MemberState,
} from './block-plan.js';

const buf = (partition: number, first: number, last: number, oldestAt = 1_000): BufferView => ({
  partition,
  first: BigInt(first),
  last: BigInt(last),
  records: last - first + 1,
  oldestAt,
});
const opts = { blockRows: 10_000, maxAgeMs: 500, now: 1_100 };

/** What each member of `spec` has committed once its intents are durable (the state a crash leaves). */
const intents = (spec: BlockSpec): Map<number, Committed> =>
  new Map(spec.ranges.map((r) => [r.partition, { offset: r.first, metadata: intentMetadata(spec) }]));

/** A restarted writer: each assigned partition's pending block from its committed offset, then every member's state. */
function restart(topic: string, committed: Map<number, Committed>, assignedHere: number[], spec: BlockSpec) {
  const pending = assignedHere.map((p) => pendingBlock(topic, p, committed.get(p)!));
  const states = new Map<number, MemberState>(
    spec.ranges.map((r) => {
      const here = assignedHere.includes(r.partition);
      const mine = pending[assignedHere.indexOf(r.partition)];
      return [r.partition, here && mine && blockToken(mine) === blockToken(spec) ? 'held' : memberState(spec, r, committed.get(r.partition), here)];
    }),
  );
  return { pending, states };
}

describe('blocks that span partitions', () => {
  it('cuts one block over every partition once they hold blockRows together, though none does alone', () => {
    const buffers = [buf(2, 100, 3_099), buf(0, 0, 3_999), buf(1, 50, 3_049)];
    expect(cutBlock('touchpoints', buffers, opts)).toEqual({
      topic: 'touchpoints',
      ranges: [
        { partition: 0, first: 0n, last: 3_999n },
        { partition: 1, first: 50n, last: 3_049n },
        { partition: 2, first: 100n, last: 3_099n },
      ],
    });
    expect(cutBlock('touchpoints', [buf(0, 0, 3_999), buf(1, 50, 3_049)], opts)).toBeNull(); // 7,000: not yet
  });

  it('cuts by the age of the oldest record of any partition, and everything on a stop', () => {
    expect(cutBlock('t', [buf(0, 0, 9, 700), buf(1, 0, 9, 500)], opts)?.ranges.map((r) => r.partition)).toEqual([0, 1]); // 600 ms old
    expect(cutBlock('t', [buf(0, 0, 9, 700), buf(1, 0, 9, 800)], opts)).toBeNull();
    expect(cutBlock('t', [buf(0, 0, 9, 1_100)], { ...opts, force: true })?.ranges).toHaveLength(1);
    expect(cutBlock('t', [], { ...opts, force: true })).toBeNull();
    expect(nextDueAt([buf(0, 0, 9, 700), buf(1, 0, 9, 650)], 500)).toBe(1_150);
  });

  it('keeps the intent under Kafka commit metadata limits by taking fewer partitions', () => {
    const many = Array.from({ length: 400 }, (_, p) => buf(p, 1_000_000, 1_000_999));
    const spec = cutBlock('t', many, opts)!;
    expect(spec.ranges.length).toBeLessThan(400);
    expect(spec.ranges[0]!.partition).toBe(0);
    expect(intentMetadata(spec).length).toBeLessThanOrEqual(4_000);
  });

  it('names a block by every range; one partition keeps the token of the writer before', () => {
    expect(blockToken({ topic: 'sessions', ranges: [{ partition: 3, first: 10n, last: 19n }] })).toBe('sessions:3:10-19');
    const spec: BlockSpec = { topic: 'sessions', ranges: [{ partition: 0, first: 5n, last: 8n }, { partition: 3, first: 10n, last: 19n }] };
    expect(blockToken(spec)).toBe('sessions:0:5-8,3:10-19');
    expect(partToken(spec, [3, 0])).toBe(partToken(spec, [0, 3]));
    expect(partToken(spec, [0])).not.toBe(partToken(spec, [3]));
    expect(partToken(spec, [0])).not.toBe(blockToken(spec));
  });

  it('round-trips intents and done markers through commit metadata, and reads the legacy intent', () => {
    const spec: BlockSpec = { topic: 't', ranges: [{ partition: 0, first: 5n, last: 8n }, { partition: 1, first: 10n, last: 19n }] };
    expect(parseCommitMark(1, { offset: 10n, metadata: intentMetadata(spec) })).toEqual({ kind: 'intent', ranges: spec.ranges });
    expect(parseCommitMark(1, { offset: 20n, metadata: doneMetadata(spec) })).toEqual({ kind: 'done', ranges: spec.ranges });
    expect(parseCommitMark(4, { offset: 42n, metadata: 'pending:50' })).toEqual({ kind: 'intent', ranges: [{ partition: 4, first: 42n, last: 50n }] });
    for (const metadata of [null, '', 'pending:x', 'block:', 'block:1:5-3', 'block:1:1-2,0:3-4', 'done:x']) {
      expect(parseCommitMark(0, { offset: 0n, metadata })).toEqual({ kind: 'none' });
    }
    // A partition's pending block is the intent whose own range starts at the committed offset.
    expect(pendingBlock('t', 1, { offset: 10n, metadata: intentMetadata(spec) })).toEqual(spec);
    expect(pendingBlock('t', 1, { offset: 20n, metadata: intentMetadata(spec) })).toBeNull();
    expect(pendingBlock('t', 1, { offset: 20n, metadata: doneMetadata(spec) })).toBeNull();
    expect(pendingBlock('t', 2, { offset: 10n, metadata: intentMetadata(spec) })).toBeNull();
    expect(pendingBlock('sessions', 3, { offset: 10n, metadata: 'pending:19' })).toEqual({ topic: 'sessions', ranges: [{ partition: 3, first: 10n, last: 19n }] });
  });

  it('splits an oversized block into chunks with stable derived tokens', () => {
    const chunks = chunkBlock([1, 2, 3, 4, 5], 't:0:0-4', 2);
    expect(chunks.map((c) => c.token)).toEqual(['t:0:0-4#0', 't:0:0-4#1', 't:0:0-4#2']);
    expect(chunks.flatMap((c) => c.rows)).toEqual([1, 2, 3, 4, 5]);
    expect(chunkBlock([1], 'x', 2)).toEqual([{ rows: [1], token: 'x' }]);
  });
});

describe('replaying an interrupted block', () => {
  // The block a writer cut from three partitions' buffers, then crashed after the insert, before the final commits.
  const original = cutBlock('touchpoints', [buf(0, 0, 3_999), buf(1, 50, 3_049), buf(2, 100, 3_099)], opts)!;
  const committed = intents(original);

  it('a writer that holds every member rebuilds exactly the same block, with the same token', () => {
    const { pending, states } = restart('touchpoints', committed, [2, 0, 1], original);
    expect(pending).toEqual([original, original, original]);
    // Whatever the new fetches hold beyond it, the replay is the original ranges and token.
    expect(resolveReplay(original, states, false)).toEqual({ kind: 'full', token: blockToken(original), ranges: original.ranges });
    expect(blockToken(original)).toBe('touchpoints:0:0-3999,1:50-3049,2:100-3099');
  });

  it('skips what is known to be inserted: a member already carries the done marker', () => {
    const partly = new Map(committed);
    partly.set(0, { offset: 4_000n, metadata: doneMetadata(original) });
    const { states } = restart('touchpoints', partly, [1, 2], original);
    expect(states.get(0)).toBe('done');
    expect(resolveReplay(original, states, false)).toEqual({ kind: 'skip', ranges: original.ranges.slice(1) });
    // The same, when the writer holding member 0 is elsewhere.
    expect(resolveReplay(original, restart('touchpoints', partly, [2], original).states, false)).toEqual({ kind: 'skip', ranges: original.ranges.slice(2) });
  });

  it('a member whose intent never became durable means the block was never inserted: no wait, no duplicate', () => {
    const torn = new Map(committed);
    torn.set(2, { offset: 100n, metadata: null });
    const { pending, states } = restart('touchpoints', torn, [0, 1, 2], original);
    expect(pending[2]).toBeNull(); // partition 2 is free: its records go into new blocks
    expect(states.get(2)).toBe('not-started');
    const decision = resolveReplay(original, states, false);
    expect(decision).toEqual({ kind: 'part', token: partToken(original, [0, 1]), ranges: original.ranges.slice(0, 2), mayDuplicate: false });
  });

  it('members split across writers: each waits for the others, then inserts its own part with its own token', () => {
    const x = restart('touchpoints', committed, [0], original).states;
    const y = restart('touchpoints', committed, [1, 2], original).states;
    expect(x.get(1)).toBe('elsewhere');
    expect(resolveReplay(original, x, false)).toEqual({ kind: 'wait' });
    expect(resolveReplay(original, y, false)).toEqual({ kind: 'wait' });
    const px = resolveReplay(original, x, true);
    const py = resolveReplay(original, y, true);
    expect(px).toMatchObject({ kind: 'part', ranges: [original.ranges[0]], mayDuplicate: true });
    expect(py).toMatchObject({ kind: 'part', ranges: original.ranges.slice(1), mayDuplicate: true });
    // Distinct tokens: neither part is dropped as the other's repeat; none is the whole block's token.
    const tokens = new Set([blockToken(original), (px as { token: string }).token, (py as { token: string }).token]);
    expect(tokens.size).toBe(3);
    // The same part replayed again (a crash after inserting it) has the same token: ClickHouse drops it.
    expect(resolveReplay(original, restart('touchpoints', committed, [2, 1], original).states, true)).toEqual(py);
    // Nothing known about a member yet (offsets not fetched): wait as well.
    expect(resolveReplay(original, new Map([[0, 'held']]), false)).toEqual({ kind: 'wait' });
  });

  it('a member committed past its range without the marker cannot tell: the part goes in at once, counted as a possible duplicate', () => {
    const moved = new Map(committed);
    moved.set(1, { offset: 5_000n, metadata: null });
    const { states } = restart('touchpoints', moved, [0, 2], original);
    expect(states.get(1)).toBe('moved');
    expect(resolveReplay(original, states, false)).toMatchObject({ kind: 'part', ranges: [original.ranges[0], original.ranges[2]], mayDuplicate: true });
  });

  it("another block's intent at the same offset means this one's never landed there", () => {
    const later: BlockSpec = { topic: 'touchpoints', ranges: [{ partition: 1, first: 50n, last: 6_000n }] };
    expect(memberState(original, original.ranges[1]!, { offset: 50n, metadata: intentMetadata(later) }, false)).toBe('not-started');
    expect(memberState(original, original.ranges[1]!, { offset: 3_050n, metadata: doneMetadata(later) }, false)).toBe('moved');
    expect(memberState(original, original.ranges[1]!, undefined, false)).toBe('unknown');
  });
});
