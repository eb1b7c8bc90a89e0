import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import { appendEndKey, createKafkaProducer, type OutgoingRecord } from '../../services/platform/kafka/producer.js';
import { APPLIED_OFFSET_KEY, restoreChangelog } from '../../services/platform/streams/changelog.js';
import { openLocalStateLog, type LocalStateLog } from '../../services/platform/streams/local-state-log.js';
import { uniquePrefix } from '../support/kafka.js';
import { testKafka, testLogger } from '../support/pipeline.js';

/**
 * A restore killed at any point must leave a local copy from which the next restore gets exactly
 * the changelog's committed state: never a key a later step deleted (a merge's transfer tombstones
 * the absorbed customer), never a step that did not reach its applied-offset marker. A kill -9 is
 * simulated by what it leaves on disk: the copy cut at every frame boundary, inside a frame's
 * header and inside its payload (a torn write), and a fresh copy's unfinished temporary file.
 */

type Step = { records: Array<[string, Buffer | null]>; marker: number | null };

/** A value of about `size` bytes that names its key and step (so a stale value is told apart). */
const value = (key: string, step: number, size: number) => Buffer.from(`${key}@${step}|${'x'.repeat(size)}`);
/** What a value says of itself: its key and step (a `fwd:` entry's whole value). */
const label = (v: Buffer) => {
  const end = v.indexOf(0x7c);
  return v.toString('latin1', 0, end < 0 ? v.length : end);
};

/**
 * A journey-like changelog: a part without markers (as a compacted changelog's cleaned part), then
 * steps of customer values, each ending with its marker; some steps are merges (the absorbed id's
 * tombstone and its `fwd:` entry); one step is split and cut by a crash (no marker), followed by
 * the step that writes its keys' committed values back first (stateful-handler's rollback).
 */
function journeyChangelog(steps: number, valueBytes: number): Step[] {
  const out: Step[] = [{ records: Array.from({ length: 40 }, (_, i) => [`u:${i}`, value(`u:${i}`, 0, valueBytes)] as [string, Buffer]), marker: null }];
  const committed = new Map<string, Buffer | null>(out[0]!.records);
  for (let s = 1; s <= steps; s++) {
    const records: Array<[string, Buffer | null]> = [];
    for (let j = 0; j < 8; j++) {
      const key = `u:${(s * 7 + j * 13) % 90}`;
      records.push([key, value(key, s, valueBytes)]);
    }
    if (s % 5 === 0) {
      // A merge: the anonymous id's state leaves (tombstone), its later records are forwarded.
      const absorbed = `a:${s}`;
      records.push([absorbed, null], [`fwd:${absorbed}`, Buffer.from(`u:${s % 90}`)]);
    } else if (s % 5 === 2) {
      // An anonymous id that a later step (s + 3) merges away.
      records.push([`a:${s + 3}`, value(`a:${s + 3}`, s, valueBytes)]);
    }
    if (s === Math.floor(steps / 2)) {
      // A step split in two appends whose second never came (a crash): no marker.
      const abandoned: Array<[string, Buffer | null]> = [
        ['u:1', value('u:1', -1, valueBytes)],
        ['u:2', null],
      ];
      out.push({ records: abandoned, marker: null });
      // The next step writes the committed values of those keys first.
      records.unshift(['u:1', committed.get('u:1') ?? null], ['u:2', committed.get('u:2') ?? null]);
    }
    for (const [k, v] of records) committed.set(k, v);
    out.push({ records, marker: s * 10 });
  }
  return out;
}

/** The committed state of `steps` (what any restore must give), keys to a value's label. */
function committedState(steps: Step[]): { state: Record<string, string>; applied: bigint | null } {
  const state = new Map<string, string>();
  let applied: bigint | null = null;
  let pending: Array<[string, Buffer | null]> = [];
  const put = ([k, v]: [string, Buffer | null]) => (v === null ? state.delete(k) : state.set(k, label(v)));
  for (const step of steps) {
    if (step.marker === null && applied === null) step.records.forEach(put); // before the first marker
    else {
      pending.push(...step.records);
      if (step.marker !== null) {
        pending.forEach(put);
        pending = [];
        applied = BigInt(step.marker);
      }
    }
  }
  return { state: Object.fromEntries([...state].sort(([a], [b]) => a.localeCompare(b))), applied };
}

/** Offsets where each frame of a local copy file ends (its frames are [u32 length][u32 crc][payload]). */
function frameEnds(bytes: Buffer): number[] {
  const ends: number[] = [];
  for (let at = 0; at + 8 <= bytes.length; ) {
    at += 8 + bytes.readUInt32BE(at);
    if (at > bytes.length) break;
    ends.push(at);
  }
  return ends;
}

/** Every place a kill -9 can cut a file: at each frame's end, inside the next frame's header and inside its payload. */
function cutPoints(bytes: Buffer): number[] {
  const points = new Set<number>([0]);
  let start = 0;
  for (const end of frameEnds(bytes)) {
    points.add(start + 3); // torn header
    points.add(start + 8 + Math.floor((end - start - 8) / 2)); // torn payload
    points.add(end - 1); // the last byte missing
    points.add(end);
    start = end;
  }
  return [...points].filter((p) => p <= bytes.length).sort((a, b) => a - b);
}

/** At most `n` of `points`, evenly spread, the first and the last included (each is a restore: time). */
const spread = (points: number[], n: number) => (points.length <= n ? points : Array.from({ length: n }, (_, i) => points[Math.round((i * (points.length - 1)) / (n - 1))]!));

describe('a restore killed at any point (local copy on disk, real broker)', () => {
  const kafka = testKafka('restore-kill-points');
  const logger = testLogger('restore-kill-points');
  const dir = mkdtempSync(join(tmpdir(), 'restore-kill-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let copies = 0;

  /** A copy file at a path of its own holding `bytes` (what the kill left), opened as a restart would. */
  const copyWith = (bytes: Buffer | null, extra?: { tmp?: Buffer; compactFloorBytes?: number }): { copy: LocalStateLog; path: string } => {
    const sub = join(dir, `c${copies++}`);
    mkdirSync(sub);
    const path = join(sub, 'changelog-0.log');
    if (bytes !== null) writeFileSync(path, bytes);
    if (extra?.tmp) writeFileSync(`${path}.tmp`, extra.tmp);
    const copy = openLocalStateLog(path, logger, { compactFloorBytes: extra?.compactFloorBytes });
    if (!copy) throw new Error('copy not opened');
    return { copy, path };
  };

  const restore = async (topic: string, localCopy: LocalStateLog | null) => {
    const state = new Map<string, string>();
    const r = await restoreChangelog(kafka, topic, 0, logger, { apply: (k, v) => (v === null ? state.delete(k) : state.set(k, label(Buffer.from(v)))), localCopy });
    return {
      state: Object.fromEntries([...state].sort(([a], [b]) => a.localeCompare(b))),
      applied: r.appliedOffset,
      rollback: Object.fromEntries([...r.rollback].map(([k, v]) => [k, v === null ? null : label(v)])),
      fromLocalCopy: r.fromLocalCopy,
    };
  };

  /** Writes steps to the changelog, each as one append (one record batch, marker last) as a state flush is. */
  const changelogWriter = async (topic: string) => {
    await ensureTopics(kafka, [{ topic, partitions: 1, compacted: true }]);
    const producer = createKafkaProducer(kafka, { name: 'restore-kill-points' });
    await producer.start();
    return {
      /** `onStep`: each step's records once acknowledged, with the offset after them (as the handler copies them). */
      async write(steps: Step[], onStep?: (records: OutgoingRecord[], end: bigint) => void) {
        for (const step of steps) {
          const records: OutgoingRecord[] = step.records.map(([key, v]) => ({ topic, key, value: v, partition: 0 }));
          if (step.marker !== null) records.push({ topic, key: APPLIED_OFFSET_KEY, value: Buffer.from(String(step.marker)), partition: 0 });
          const ends = await producer.send(records);
          onStep?.(records, ends!.get(appendEndKey(topic, 0))!);
        }
      },
      stop: () => producer.stop(),
    };
  };
  const produce = async (topic: string, steps: Step[]) => {
    const writer = await changelogWriter(topic);
    try {
      await writer.write(steps);
    } finally {
      await writer.stop();
    }
  };

  it('a copy cut anywhere (kill -9 during a restore or a flush) restores exactly the committed state, and so does the copy that restore leaves', async () => {
    const topic = `${uniquePrefix()}changelog`;
    // ~3.6 MB of values: a restore's copy is written in several frames of about a MiB.
    const steps = journeyChangelog(120, 3_000);
    await produce(topic, steps);
    const expected = committedState(steps);
    expect(Object.keys(expected.state).some((k) => k.startsWith('fwd:'))).toBe(true);

    const whole = await restore(topic, null);
    expect(whole.state).toEqual(expected.state);
    expect(whole.applied).toBe(expected.applied);
    expect(whole.rollback).toEqual({});

    // A fresh copy, written as the changelog is read.
    const first = copyWith(null);
    expect(await restore(topic, first.copy)).toMatchObject({ state: expected.state, applied: expected.applied, fromLocalCopy: false });
    first.copy.close();
    const full = readFileSync(first.path);
    expect(frameEnds(full).length).toBeGreaterThan(2);

    const points = cutPoints(full);
    for (const at of points) {
      const cut = copyWith(full.subarray(0, at));
      const again = await restore(topic, cut.copy);
      expect({ at, ...again, fromLocalCopy: undefined }).toEqual({ at, state: expected.state, applied: expected.applied, rollback: {}, fromLocalCopy: undefined });
      // The copy this restore left (appended to, or written anew) restores the same state.
      cut.copy.close();
      const next = copyWith(readFileSync(cut.path));
      expect({ at, ...(await restore(topic, next.copy)) }).toEqual({ at, state: expected.state, applied: expected.applied, rollback: {}, fromLocalCopy: true });
      next.copy.close();
    }

    // A restore that appended to a copy cut in the middle, itself killed at each point of what it appended.
    const middle = points[Math.floor(points.length / 2)]!;
    const appended = copyWith(full.subarray(0, middle));
    await restore(topic, appended.copy);
    appended.copy.close();
    const grown = readFileSync(appended.path);
    for (const at of cutPoints(grown).filter((p) => p >= middle)) {
      const cut = copyWith(grown.subarray(0, at));
      expect({ at, ...(await restore(topic, cut.copy)), fromLocalCopy: undefined }).toEqual({ at, state: expected.state, applied: expected.applied, rollback: {}, fromLocalCopy: undefined });
      cut.copy.close();
    }

    // A fresh copy's temporary file left by a kill: the copy beside it is what counts.
    const withTmp = copyWith(full.subarray(0, frameEnds(full)[0]!), { tmp: full.subarray(0, full.length - 5) });
    expect(await restore(topic, withTmp.copy)).toMatchObject({ state: expected.state, applied: expected.applied, rollback: {} });
    withTmp.copy.close();
  });

  it('a changelog that ends with an unfinished step: every cut copy rolls back the same keys to the same committed values', async () => {
    const topic = `${uniquePrefix()}changelog`;
    const steps = journeyChangelog(60, 3_000);
    await produce(topic, steps);
    // The copy as the last complete step left it, written by a restore.
    const before = copyWith(null);
    await restore(topic, before.copy);
    before.copy.close();
    const bytes = readFileSync(before.path);
    // Then the last flush, split in two appends, the second never sent: a merge's tombstone among them.
    const unfinished: Step = { records: [['u:3', value('u:3', 999, 3_000)], ['a:60', null], ['fwd:a:60', Buffer.from('u:60')]], marker: null };
    await produce(topic, [unfinished]);
    const expected = committedState([...steps, unfinished]);
    const whole = await restore(topic, null);
    expect(whole.state).toEqual(expected.state);
    expect(whole.applied).toBe(expected.applied);
    expect(Object.keys(whole.rollback).sort()).toEqual(['a:60', 'fwd:a:60', 'u:3']);
    for (const at of cutPoints(bytes)) {
      const cut = copyWith(bytes.subarray(0, at));
      expect({ at, ...(await restore(topic, cut.copy)), fromLocalCopy: undefined }).toEqual({ at, state: expected.state, applied: expected.applied, rollback: whole.rollback, fromLocalCopy: undefined });
      cut.copy.close();
    }
  });

  it('a copy compacted by its flushes (one frame of its folded state, the marker anywhere in it) restores every customer', async () => {
    const topic = `${uniquePrefix()}changelog`;
    const steps = journeyChangelog(60, 2_000);
    // The stateful handler's flushes: each acknowledged step is appended to the copy at its end
    // offset; the copy compacts itself once it has grown past twice its last compacted size.
    const { copy, path } = copyWith(null, { compactFloorBytes: 64 * 1024 });
    const onStep = (records: OutgoingRecord[], end: bigint) => copy.append(records.map((r) => ({ key: r.key!, value: r.value })), end);
    const writer = await changelogWriter(topic);
    let produced = 0;
    try {
      // Step by step until a flush compacts the copy: then it is one frame that reaches the changelog's end.
      do {
        expect(produced).toBeLessThan(steps.length);
        await writer.write(steps.slice(produced, produced + 1), onStep);
        produced++;
      } while (frameEnds(readFileSync(path)).length > 1 || produced < 10);
      const expectedThen = committedState(steps.slice(0, produced));
      const only = copyWith(readFileSync(path));
      expect(await restore(topic, only.copy)).toEqual({ state: expectedThen.state, applied: expectedThen.applied, rollback: {}, fromLocalCopy: true });
      only.copy.close();
      // The later flushes appended after the compacted frame; the copy cut at each point.
      await writer.write(steps.slice(produced), onStep);
    } finally {
      await writer.stop();
      copy.close();
    }
    const grown = readFileSync(path);
    const expected = committedState(steps);
    for (const at of spread(cutPoints(grown), 40)) {
      const cut = copyWith(grown.subarray(0, at));
      expect({ at, ...(await restore(topic, cut.copy)), fromLocalCopy: undefined }).toEqual({ at, state: expected.state, applied: expected.applied, rollback: {}, fromLocalCopy: undefined });
      cut.copy.close();
    }
  });
});
