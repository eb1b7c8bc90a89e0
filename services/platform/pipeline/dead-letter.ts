import type { KafkaMessage } from 'kafkajs';
import { topicCodecs } from '../../../schemas/topics.js';
import type { OutgoingRecord } from '../kafka/producer.js';

/** A record for the dead-letter topic carrying the original bytes (base64) and why they were refused. */
export function deadLetterRecord(
  deadLetterTopic: string,
  source: { topic: string; stage: string; message: KafkaMessage },
  reason: string,
  now: number,
): OutgoingRecord {
  const key = source.message.key?.toString('utf8') ?? null;
  return {
    topic: deadLetterTopic,
    key: `${source.topic}:${source.message.offset}`,
    value: topicCodecs.deadLetter().encode({
      sourceTopic: source.topic,
      stage: source.stage,
      reason,
      at: now,
      key,
      payload: source.message.value?.toString('base64') ?? '',
    }),
  };
}

/**
 * A dead-letter record for an output that could not be sent because it is over the broker's
 * record limit (`limit` bytes): its topic, key and size in the reason, and the first
 * `keptBytes` of its value (base64), so the record itself always fits.
 */
export function oversizedRecordDeadLetter(deadLetterTopic: string, stage: string, record: OutgoingRecord, bytes: number, limit: number, now: number, keptBytes = 1024): OutgoingRecord {
  return {
    topic: deadLetterTopic,
    key: `${record.topic}:${record.key ?? ''}`,
    value: topicCodecs.deadLetter().encode({
      sourceTopic: record.topic,
      stage,
      reason: `output record of ${bytes} bytes is over the ${limit}-byte record limit: not sent (the first ${keptBytes} bytes are kept here)`,
      at: now,
      key: record.key,
      payload: record.value?.subarray(0, keptBytes).toString('base64') ?? '',
    }),
  };
}
