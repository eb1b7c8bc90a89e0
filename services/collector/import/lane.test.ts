import { describe, expect, it } from 'vitest';
import type { HistoryMarker, ImportRun } from '../../../schemas/history-marker.js';
import { historyMarkerOf } from '../../../schemas/history-marker.js';
import { parseImportArgs } from './config.js';
import { historyMarkerRecords } from './importer.js';
import { heldLaneMessage, tailState, type LaneRecord } from './lane.js';

const run: ImportRun = { id: 'run-1', host: 'etl-3', startedAt: Date.UTC(2026, 11, 7, 9), files: ['/data/2026-10.jsonl.gz', '/data/2026-11.jsonl.gz'] };
/** A partition's tail: `b` a begin (of `run`), `e` an end, `t` a touchpoint; written a minute apart from 10:00. */
const tail = (kinds: string, begin: Extract<HistoryMarker, { kind: 'begin' }> = { kind: 'begin', firstEventTime: 5, run }): LaneRecord[] =>
  [...kinds].map((k, i) => ({ offset: BigInt(100 + i), writtenAt: Date.UTC(2026, 11, 7, 10, i), marker: k === 'b' ? begin : k === 'e' ? { kind: 'end' } : null }));

describe('history import: one import at a time (lane.ts)', () => {
  it('a partition is closed when empty or when its last record is an end; held by the import whose begin is the last marker, however far back', () => {
    expect(tailState(0, [], true)).toBe('closed');
    expect(tailState(0, tail('bttte'), false)).toBe('closed');
    expect(tailState(1, tail('ebtt'), false)).toEqual({ partition: 1, lastWrittenAt: Date.UTC(2026, 11, 7, 10, 3), begin: { firstEventTime: 5, run, offset: 101n } });
    // Only touchpoints read: read further back, unless that was the partition's start.
    expect(tailState(1, tail('ttt'), false)).toBe('further');
    expect(tailState(1, tail('ttt'), true)).toMatchObject({ begin: null });
    // Touchpoints after an end (an import by a version that wrote no begin): held, by no named run.
    expect(tailState(1, tail('bett'), false)).toMatchObject({ begin: null });
    // A begin of a version that did not name its run.
    expect(tailState(1, tail('bt', { kind: 'begin', firstEventTime: 5 }), false)).toMatchObject({ begin: { run: null, offset: 100n } });
  });

  it('the refusal names the run, when it last wrote, and how to resume or give it up', () => {
    const held = tailState(1, tail('bt'), false);
    if (held === 'closed' || held === 'further') throw new Error('held expected');
    const message = heldLaneMessage('touchpoints-history', held, Date.UTC(2026, 11, 7, 10, 31));
    expect(message).toContain('held by run run-1 on etl-3, started 2026-12-07T09:00:00.000Z, importing /data/2026-10.jsonl.gz, /data/2026-11.jsonl.gz');
    expect(message).toContain('last wrote 2026-12-07T10:01:00.000Z (30 min ago)');
    expect(message).toContain('run it again where it ran (same DATA_DIR, same files)');
    expect(message).toContain('npm run import -- --close-lane');
  });

  it('a begin marker carries its run, and reads back with it', () => {
    const [record] = historyMarkerRecords('t.touchpoints-history', 1, { kind: 'begin', firstEventTime: 1_000, run });
    expect(historyMarkerOf({ value: record!.value, headers: { 'jp-history': Buffer.from('begin') } })).toEqual({ kind: 'begin', firstEventTime: 1_000, run });
  });

  it('--close-lane takes no files, source or --live-topic', () => {
    expect(parseImportArgs(['--close-lane'])).toMatchObject({ closeLane: true, paths: [] });
    expect(() => parseImportArgs(['--close-lane', 'a.jsonl'])).toThrow(/--close-lane takes nothing else/);
    expect(() => parseImportArgs([])).toThrow(/no file or folder/);
  });
});
