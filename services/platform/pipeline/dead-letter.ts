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
