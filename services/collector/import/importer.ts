import { createHash } from 'node:crypto';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import type { DeadLetter } from '../../../schemas/journey.js';
import { collectEvents, toDeadLetter } from '../../platform/segment/collect.js';
import { parseIsoTimestamp } from '../../platform/segment/iso-time.js';
import { isJsonObject } from '../../platform/segment/json-object.js';
import type { SourceInfo } from '../../platform/segment/source-config.js';
import type { TouchpointSink } from '../../platform/segment/sink.js';
import type { OutgoingRecord } from '../../platform/kafka/producer.js';
import { HISTORY_MARKER_HEADER, HISTORY_MARKER_KEY, historyMarkerValue, type HistoryMarker } from '../../../schemas/history-marker.js';

/** One line of a history file, and how far into the file (bytes read so far) it ends. */
export interface HistoryLine {
  text: string;
  bytesRead: number;
}

export interface ImportProgress {
  /** Lines of the file handled and acknowledged by the broker. */
  lines: number;
  bytesRead: number;
  accepted: number;
  rejected: number;
  /** Events whose messageId came before in this file (within the last DUPLICATE_WINDOW ids). */
  duplicates: number;
  /** Rejections by reason (the reason's first 120 characters). */
  reasons: Record<string, number>;
}

export interface ImportDeps {
  /**
   * The source of lines without a `writeKey` of their own (`--source`), or null: such lines are
   * then refused. A line's `writeKey` (the Segment HTTP API allows it in the body) picks its source
   * from `sources`.
   */
  source: SourceInfo | null;
  sources: ReadonlyMap<string, SourceInfo>;
  sink: TouchpointSink;
  /** Resume here: lines before it were imported already (a progress file says so). */
  resumeAt?: ImportProgress;
  /** Called after every acknowledged chunk with the progress so far (saved, so an interruption resumes there). */
  onChunk(progress: ImportProgress): Promise<void> | void;
  /** Lines per produce: each chunk is acknowledged before the next is read. */
  chunkLines?: number;
  /** Stamps dead letters of lines that have no time of their own (not JSON, no timestamp). */
  now: () => number;
}

const DUPLICATE_WINDOW = 1_000_000;

export const emptyProgress = (): ImportProgress => ({ lines: 0, bytesRead: 0, accepted: 0, rejected: 0, duplicates: 0, reasons: {} });

/**
 * Imports Segment-format events, one JSON object per line, into the pipeline: each event is
 * validated by the collector's own code (the same limits, reasons and dead letters as HTTP), and
 * keeps its own time. The event time is the line's `timestamp` (Segment archives store the corrected
 * time there); `receivedAt`, when the line has it, is kept as when it was received, else the
 * timestamp stands for it. Neither `sentAt` nor `originalTimestamp` re-anchors it on today's clock,
 * as they would for live traffic. An event without a messageId gets one derived from its source and
 * its line's content, so importing the same file again produces the same ids.
 */
export async function importLines(lines: AsyncIterable<HistoryLine>, deps: ImportDeps): Promise<ImportProgress> {
  const progress: ImportProgress = deps.resumeAt ? structuredClone(deps.resumeAt) : emptyProgress();
  const skip = progress.lines;
  const chunkLines = deps.chunkLines ?? 2_000;
  const seen = new Set<string>();
  let lineNumber = 0;
  let touchpoints: Touchpoint[] = [];
  let deadLetters: DeadLetter[] = [];
  let pending = 0;
  let bytesRead = progress.bytesRead;

  const reject = (reason: string) => {
    progress.rejected++;
    const key = reason.slice(0, 120);
    progress.reasons[key] = (progress.reasons[key] ?? 0) + 1;
  };
  const flush = async () => {
    if (pending === 0) return;
    if (touchpoints.length + deadLetters.length > 0) await deps.sink.send({ touchpoints, deadLetters });
    progress.lines = lineNumber;
    progress.bytesRead = bytesRead;
    touchpoints = [];
    deadLetters = [];
    pending = 0;
    await deps.onChunk(progress);
  };

  for await (const line of lines) {
    lineNumber++;
    if (lineNumber <= skip) continue;
    bytesRead = line.bytesRead;
    pending++;
    const text = line.text.trim();
    if (text !== '') {
      const outcome = importEvent(text, lineNumber, deps, deps.now());
      if (outcome.kind === 'ok') {
        const id = outcome.touchpoint.messageId;
        if (seen.has(id)) progress.duplicates++;
        else {
          if (seen.size >= DUPLICATE_WINDOW) seen.clear();
          seen.add(id);
        }
        progress.accepted++;
        touchpoints.push(outcome.touchpoint);
      } else {
        reject(outcome.deadLetter.reason);
        deadLetters.push(outcome.deadLetter);
      }
    }
    if (pending >= chunkLines) await flush();
  }
  await flush();
  return progress;
}

type LineOutcome = { kind: 'ok'; touchpoint: Touchpoint } | { kind: 'dlq'; deadLetter: DeadLetter };

/** One line: parsed, given its source, event time and id, and validated as the collector validates an HTTP event. */
export function importEvent(text: string, lineNumber: number, sources: Pick<ImportDeps, 'source' | 'sources'>, now: number): LineOutcome {
  const fallback = sources.source ?? UNKNOWN_SOURCE;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return dlq(text, `line ${lineNumber} is not JSON: ${(error as Error).message}`, fallback, now);
  }
  if (!isJsonObject(parsed)) return dlq(parsed, `line ${lineNumber}: an event must be a JSON object`, fallback, now);
  // The write key is a credential: it chooses the source and goes no further (not even into a dead letter).
  const { writeKey, ...raw } = parsed;
  const source = typeof writeKey === 'string' ? sources.sources.get(writeKey) : sources.source;
  if (source === undefined) return dlq(raw, `line ${lineNumber}: unknown writeKey`, fallback, now);
  if (source === null) return dlq(raw, `line ${lineNumber}: no writeKey, and no --source for lines without one`, fallback, now);
  const timestamp = typeof raw.timestamp === 'string' ? parseIsoTimestamp(raw.timestamp) : null;
  if (timestamp === null) return dlq(raw, `line ${lineNumber}: an imported event needs its timestamp (ISO 8601)`, source, now);
  const archived = typeof raw.receivedAt === 'string' ? parseIsoTimestamp(raw.receivedAt) : null;
  const receivedAt = archived !== null && archived >= timestamp ? archived : timestamp;
  const { sentAt: _sentAt, originalTimestamp: _original, ...event } = raw;
  const messageId = derivedMessageId(source.sourceId, text);
  const result = collectEvents({ events: [event], source, receivedAt, newMessageId: () => messageId });
  const touchpoint = result.touchpoints[0];
  if (touchpoint) return { kind: 'ok', touchpoint };
  const deadLetter = result.deadLetters[0]!;
  return { kind: 'dlq', deadLetter: { ...deadLetter, reason: `line ${lineNumber}: ${deadLetter.reason}` } };
}

/** Names the origin of a dead letter whose source is unknown (a line without a usable write key). */
const UNKNOWN_SOURCE: SourceInfo = { sourceId: 'import', site: '', hashEmails: true };

function dlq(raw: unknown, reason: string, source: SourceInfo, at: number): LineOutcome {
  return { kind: 'dlq', deadLetter: toDeadLetter(raw, reason, { source, receivedAt: at }) };
}

/** A UUID-shaped id from the source and the line: the same line always gets the same id. */
export function derivedMessageId(sourceId: string, text: string): string {
  const h = createHash('sha256').update(sourceId).update('\n').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * An import's markers in the history lane, one per partition of `touchpoints-history`: `begin`
 * before the run's first touchpoint (with the earliest event time of its first chunk), `end` after
 * its last chunk was acknowledged. The router passes each on: a begin opens the partition's history
 * source at that time, an end closes it, so the journey step's clock goes on with the live
 * traffic's (docs/history-lane.md). Every run that finishes writes its end, also one that found its
 * files imported before: a run interrupted before its markers leaves the lane open until then.
 */
export function historyMarkerRecords(topic: string, partitions: number, marker: HistoryMarker): OutgoingRecord[] {
  const value = historyMarkerValue(marker);
  return Array.from({ length: partitions }, (_, partition) => ({ topic, partition, key: HISTORY_MARKER_KEY, value, headers: { [HISTORY_MARKER_HEADER]: marker.kind } }));
}
