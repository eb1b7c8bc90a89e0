import type { Topics } from '../../schemas/topics.js';
import { topicCodecs } from '../../schemas/topics.js';
import { importLines, type HistoryLine } from '../../services/collector/import/importer.js';
import type { RecordProducer } from '../../services/platform/kafka/producer.js';
import { createKafkaTouchpointSink } from '../../services/platform/kafka/touchpoint-sink.js';

/** Lines of a history file as the importer reads them (text and bytes read so far). */
export async function* linesOf(texts: string[]): AsyncGenerator<HistoryLine> {
  let bytes = 0;
  for (const text of texts) yield { text, bytesRead: (bytes += text.length + 1) };
}

/**
 * Imports lines as `npm run import` does (importer.ts): the collector's validation, then the
 * history lane's topic, as shop.example's server source. The caller sends the lane's markers.
 */
export function historyImporter(producer: RecordProducer, topics: Topics) {
  const sink = createKafkaTouchpointSink({
    producer,
    topics,
    touchpointsTopic: topics.touchpointsHistory,
    touchpointCodec: topicCodecs.touchpoints(),
    deadLetterCodec: topicCodecs.deadLetter(),
    sendTimeoutMs: 60_000,
    maxInFlightEvents: 1_000_000,
    maxInFlightBytes: 1 << 30,
  });
  const source = { sourceId: 'server', site: 'shop.example', hashEmails: true };
  return (lines: string[]) => importLines(linesOf(lines), { source, sources: new Map(), sink, onChunk: () => {}, now: Date.now });
}
