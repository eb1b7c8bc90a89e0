import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { SinkBatch, TouchpointSink } from '../../platform/segment/sink.js';
import { historyLines } from './history-file.js';
import { derivedMessageId, historyMarkerRecords, importLines, type HistoryLine, type ImportProgress } from './importer.js';
import { parseImportArgs } from './config.js';
import { historyMarkerOf } from '../../../schemas/history-marker.js';

const source = { sourceId: 'web', site: 'shop', hashEmails: false };
const sources = new Map([['wk_app', { sourceId: 'app', site: 'app.example', hashEmails: false }]]);
const NOW = Date.UTC(2026, 11, 6);

async function* linesOf(texts: string[]): AsyncGenerator<HistoryLine> {
  let bytes = 0;
  for (const text of texts) {
    bytes += Buffer.byteLength(text) + 1;
    yield { text, bytesRead: bytes };
  }
}

const recordingSink = () => {
  const batches: SinkBatch[] = [];
  const sink: TouchpointSink & { batches: SinkBatch[] } = { batches, send: async (b) => void batches.push(b) };
  return sink;
};

const run = async (texts: string[], o: { resumeAt?: ImportProgress; chunkLines?: number; source?: typeof source | null } = {}) => {
  const sink = recordingSink();
  const chunks: ImportProgress[] = [];
  const result = await importLines(linesOf(texts), { source, sources, sink, now: () => NOW, onChunk: (p) => void chunks.push(structuredClone(p)), ...o });
  return { result, chunks, touchpoints: sink.batches.flatMap((b) => b.touchpoints), deadLetters: sink.batches.flatMap((b) => b.deadLetters) };
};

const track = (fields: Record<string, unknown>) => JSON.stringify({ type: 'track', event: 'Product Viewed', userId: 'u1', ...fields });

describe('history import', () => {
  it('keeps each event’s own time: the timestamp, not re-anchored on today by sentAt; an archived receivedAt is kept', async () => {
    const { touchpoints } = await run([
      track({ messageId: 'a', timestamp: '2025-01-01T10:00:00.000Z', sentAt: '2025-01-01T10:00:05.000Z' }),
      track({ messageId: 'b', timestamp: '2025-01-01T11:00:00.000Z', originalTimestamp: '2025-01-01T10:59:00.000Z', receivedAt: '2025-01-01T11:00:02.000Z' }),
    ]);
    expect(touchpoints.map((t) => [t.messageId, t.timestamp, t.receivedAt])).toEqual([
      ['a', Date.UTC(2025, 0, 1, 10), Date.UTC(2025, 0, 1, 10)],
      ['b', Date.UTC(2025, 0, 1, 11), Date.UTC(2025, 0, 1, 11, 0, 2)],
    ]);
  });

  it('gives an event without a messageId an id derived from its line, the same on every import', async () => {
    const line = track({ timestamp: '2025-01-01T10:00:00.000Z' });
    const first = await run([line, track({ timestamp: '2025-01-01T10:00:01.000Z' })]);
    const again = await run([line]);
    expect(first.touchpoints[0]!.messageId).toBe(again.touchpoints[0]!.messageId);
    expect(first.touchpoints[0]!.messageId).toBe(derivedMessageId('web', line));
    expect(first.touchpoints[0]!.messageId).not.toBe(first.touchpoints[1]!.messageId);
    expect(first.touchpoints[0]!.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('dead-letters a bad line with its line number and reason, and loses nothing else', async () => {
    const { result, touchpoints, deadLetters } = await run([
      track({ messageId: 'ok1', timestamp: '2025-01-01T10:00:00.000Z' }),
      '{"type": "track", broken',
      track({ messageId: 'no-time' }),
      JSON.stringify({ type: 'track', userId: 'u1', timestamp: '2025-01-01T10:00:00.000Z' }),
      '',
      track({ messageId: 'ok2', timestamp: '2025-01-01T10:05:00.000Z' }),
    ]);
    expect(touchpoints.map((t) => t.messageId)).toEqual(['ok1', 'ok2']);
    expect(deadLetters.map((d) => d.reason)).toEqual([
      expect.stringMatching(/^line 2 is not JSON/),
      'line 3: an imported event needs its timestamp (ISO 8601)',
      expect.stringMatching(/^line 4: .*event/),
    ]);
    expect(result).toMatchObject({ lines: 6, accepted: 2, rejected: 3 });
  });

  it('takes a line’s writeKey as its source (and keeps the key out of everything), else --source; without either the line is refused', async () => {
    const lines = [track({ messageId: 'k1', writeKey: 'wk_app', timestamp: '2025-01-01T10:00:00.000Z' }), track({ messageId: 'k2', timestamp: '2025-01-01T10:00:00.000Z' }), track({ messageId: 'k3', writeKey: 'nope', timestamp: '2025-01-01T10:00:00.000Z' })];
    const withDefault = await run(lines);
    expect(withDefault.touchpoints.map((t) => [t.messageId, t.source, t.site])).toEqual([
      ['k1', 'app', 'app.example'],
      ['k2', 'web', 'shop'],
    ]);
    expect(withDefault.deadLetters.map((d) => [d.reason, d.payload.includes('nope')])).toEqual([['line 3: unknown writeKey', false]]);
    expect(JSON.stringify(withDefault.touchpoints)).not.toContain('wk_app');
    const withoutDefault = await run(lines, { source: null });
    expect(withoutDefault.touchpoints.map((t) => t.messageId)).toEqual(['k1']);
    expect(withoutDefault.deadLetters.map((d) => d.reason)).toEqual(['line 2: no writeKey, and no --source for lines without one', 'line 3: unknown writeKey']);
  });

  it('counts a messageId seen before in the file as a duplicate (the pipeline drops it)', async () => {
    const { result } = await run([track({ messageId: 'x', timestamp: '2025-01-01T10:00:00.000Z' }), track({ messageId: 'x', timestamp: '2025-01-01T10:00:00.000Z' })]);
    expect(result).toMatchObject({ accepted: 2, duplicates: 1 });
  });

  it('reports progress per acknowledged chunk and resumes after the lines a progress file holds', async () => {
    const texts = Array.from({ length: 7 }, (_, i) => track({ messageId: `m${i}`, timestamp: `2025-01-01T10:0${i}:00.000Z` }));
    const whole = await run(texts, { chunkLines: 3 });
    expect(whole.chunks.map((c) => [c.lines, c.accepted])).toEqual([
      [3, 3],
      [6, 6],
      [7, 7],
    ]);
    const resumed = await run(texts, { chunkLines: 3, resumeAt: whole.chunks[0] });
    expect(resumed.touchpoints.map((t) => t.messageId)).toEqual(['m3', 'm4', 'm5', 'm6']);
    expect(resumed.result).toEqual(whole.result);
  });

  it('reads plain and gzip files alike, with the bytes read for progress', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'history-'));
    const text = ['{"a":1}', '{"b":2}', '{"c":3}'].join('\n') + '\n';
    writeFileSync(join(dir, 'plain.jsonl'), text);
    writeFileSync(join(dir, 'packed.jsonl'), gzipSync(text));
    for (const name of ['plain.jsonl', 'packed.jsonl']) {
      const lines: HistoryLine[] = [];
      for await (const line of historyLines(join(dir, name))) lines.push(line);
      expect(lines.map((l) => l.text)).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
      expect(lines.at(-1)!.bytesRead).toBeGreaterThan(0);
    }
  });
});

describe('history import: the history lane (docs/history-lane.md)', () => {
  it('goes into the history lane unless --live-topic asks for touchpoints', () => {
    expect(parseImportArgs(['--source', 'wk', 'a.jsonl'])).toMatchObject({ liveTopic: false, paths: ['a.jsonl'] });
    expect(parseImportArgs(['--live-topic', 'a.jsonl'])).toMatchObject({ liveTopic: true });
  });

  it('opens and closes the lane with one marker per partition, each on its own partition and told apart by its header', () => {
    const begin = historyMarkerRecords('t.touchpoints-history', 3, { kind: 'begin', firstEventTime: 1_000 });
    expect(begin.map((r) => [r.topic, r.partition, r.key])).toEqual([
      ['t.touchpoints-history', 0, '@history'],
      ['t.touchpoints-history', 1, '@history'],
      ['t.touchpoints-history', 2, '@history'],
    ]);
    // As a consumer fetches them: header values are bytes.
    const fetched = (r: (typeof begin)[number]) => ({ value: r.value, headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)])) });
    expect(begin.map((r) => historyMarkerOf(fetched(r)))).toEqual(Array(3).fill({ kind: 'begin', firstEventTime: 1_000 }));
    const end = historyMarkerRecords('t.touchpoints-history', 3, { kind: 'end' });
    expect(end.map((r) => historyMarkerOf(fetched(r)))).toEqual(Array(3).fill({ kind: 'end' }));
    expect(historyMarkerOf({ value: Buffer.from('x'), headers: {} })).toBeNull();
    expect(historyMarkerOf({ value: Buffer.from('{}'), headers: { 'jp-history': Buffer.from('begin') } })).toBeNull();
  });
});
