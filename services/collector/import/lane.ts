import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { historyMarkerOf, type HistoryMarker, type ImportRun } from '../../../schemas/history-marker.js';
import { readPartitionRange } from '../../platform/kafka/read-range.js';

/**
 * One import at a time on the history lane (docs/history-lane.md): a second import's end marker
 * would close the lane under the first, whose rest would then be late. Only imports write
 * `touchpoints-history`, each between its begin and its end on every partition, so a partition
 * whose last record is not an end is held by an import, running or interrupted; its begin names
 * the run. Checked when an import starts: not a lock (two runs started within the same seconds
 * both pass), but an import started while another is open, or after one was interrupted, stops
 * with who holds the lane and what to do.
 */

/** A record of the lane as the check reads it. */
export interface LaneRecord {
  offset: bigint;
  /** When the broker appended it (the record's timestamp). */
  writtenAt: number;
  marker: HistoryMarker | null;
}

/** An import holding the lane, as far as one partition's tail tells it. */
export interface OpenImport {
  partition: number;
  /** When its last record on that partition was written. */
  lastWrittenAt: number;
  /** Its begin, or null: not within the records read (or touchpoints after an end, written without one). */
  begin: { firstEventTime: number; run: ImportRun | null; offset: bigint } | null;
}

/**
 * What a partition's tail says (its records in offset order, the partition's last record last):
 * `closed` (empty, or an end last), the import holding it with its begin, or `further` (no marker
 * in the tail: read further back).
 */
export function tailState(partition: number, tail: readonly LaneRecord[], reachedStart: boolean): 'closed' | OpenImport | 'further' {
  const last = tail.at(-1);
  if (last === undefined || last.marker?.kind === 'end') return 'closed';
  for (let i = tail.length - 1; i >= 0; i--) {
    const marker = tail[i]!.marker;
    if (marker === null) continue;
    if (marker.kind === 'begin') return { partition, lastWrittenAt: last.writtenAt, begin: { firstEventTime: marker.firstEventTime, run: marker.run ?? null, offset: tail[i]!.offset } };
    return { partition, lastWrittenAt: last.writtenAt, begin: null };
  }
  return reachedStart ? { partition, lastWrittenAt: last.writtenAt, begin: null } : 'further';
}

/** Records read back from a partition's end, at most, looking for the open import's begin. */
const MAX_TAIL_RECORDS = 2_000_000n;

/** The import holding `topic` (the history lane), or null when every partition is closed. */
export async function openImport(kafka: Kafka, topic: string): Promise<OpenImport | null> {
  const admin = kafka.admin();
  await admin.connect();
  let offsets: Array<{ partition: number; low: string; high: string }>;
  try {
    offsets = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  for (const { partition, low, high } of offsets.sort((a, b) => a.partition - b.partition)) {
    const start = BigInt(low);
    const end = BigInt(high);
    if (end <= start) continue;
    // The last record first (an end, most often), then 64, 4,096, 262,144 and MAX_TAIL_RECORDS back.
    for (let window = 1n; ; window = window * 64n > MAX_TAIL_RECORDS ? MAX_TAIL_RECORDS : window * 64n) {
      const from = end - window > start ? end - window : start;
      const tail: LaneRecord[] = [];
      await readPartitionRange(kafka, { topic, partition, from, to: end }, (m: KafkaMessage) =>
        tail.push({ offset: BigInt(m.offset), writtenAt: Number(m.timestamp), marker: historyMarkerOf(m) }),
      );
      const state = tailState(partition, tail, from === start || window === MAX_TAIL_RECORDS);
      if (state === 'closed') break;
      if (state !== 'further') return state;
    }
  }
  return null;
}

const iso = (t: number) => new Date(t).toISOString();

/** Why this import does not start, and what to do: the lines `npm run import` prints. */
export function heldLaneMessage(topic: string, held: OpenImport, now: number): string {
  const run = held.begin?.run;
  const who = run
    ? `run ${run.id} on ${run.host}, started ${iso(run.startedAt)}, importing ${run.files.join(', ')}`
    : held.begin
      ? `an import begun at offset ${held.begin.offset} of partition ${held.partition} (by a version that did not name its run)`
      : `an import whose begin is more than ${MAX_TAIL_RECORDS.toLocaleString('en')} records back on partition ${held.partition}, or that wrote without one`;
  const minutes = Math.max(0, Math.round((now - held.lastWrittenAt) / 60_000));
  return [
    `the history lane (${topic}) is held by ${who}; it last wrote ${iso(held.lastWrittenAt)} (${minutes} min ago).`,
    'One import at a time: its end marker would close the lane under this one (docs/history-lane.md).',
    '- if it is still running, wait for it to finish, then run this again;',
    '- if it was interrupted, run it again where it ran (same DATA_DIR, same files): it resumes and closes the lane;',
    '- to give it up: npm run import -- --close-lane (writes the end markers; what it imported stays, and its',
    '  progress files still say where it stopped).',
  ].join('\n');
}

/**
 * This machine's record of the import that holds the lane (DATA_DIR/imports/lane-<topic>.json):
 * written before its begin, removed after its end. A run that finds the lane held by the run named
 * here is that run resumed (its progress files say where it stopped) and goes on under its id.
 */
export function localLaneFile(dataDir: string, topic: string) {
  const dir = join(dataDir, 'imports');
  const path = join(dir, `lane-${topic}.json`);
  return {
    path,
    load(): ImportRun | null {
      try {
        const run = JSON.parse(readFileSync(path, 'utf8')) as ImportRun;
        return typeof run.id === 'string' ? run : null;
      } catch {
        return null;
      }
    },
    save(run: ImportRun): void {
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${path}.next`, JSON.stringify(run));
      renameSync(`${path}.next`, path);
    },
    clear(): void {
      rmSync(path, { force: true });
    },
  };
}

/** A new run's name, for its begin marker. */
export const newImportRun = (files: readonly string[], now: number): ImportRun => ({ id: randomUUID(), host: hostname(), startedAt: now, files: files.map((f) => resolve(f)) });
