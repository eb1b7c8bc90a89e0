// Imported for its effect, FIRST in every module that loads kafkajs (before `from 'kafkajs'`): ES
// modules evaluate their imports in order, so kafkajs' producer then loads with the grouping below.
import { createRequire, Module } from 'node:module';

/** The part of kafkajs' message grouping input this needs (kafkajs 2.2: producer/sendMessages.js). */
interface GroupingInput<M> {
  topic: string;
  partitionMetadata: unknown[];
  messages: M[];
  partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: M }) => number;
}

/**
 * kafkajs' producer groups a send's messages per partition with `[...current, message]` per
 * message: quadratic in the messages of one partition (20,000 records, a journey step's flush in one
 * append: ~2 s of CPU and ~1.6 GB of arrays; kafkajs pull request 1576, open). The same result in one
 * pass: each partition's messages in send order, no entry for a partition without messages, {} when
 * the topic has no partitions known.
 */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupingInput<M>): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list) list.push(message);
    else result[partition] = [message];
  }
  return result;
}

const require = createRequire(import.meta.url);
/** Where kafkajs' producer requires its grouping from. */
export const KAFKAJS_GROUPING_MODULE = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
const KAFKAJS_VERSION = (require('kafkajs/package.json') as { version: string }).version;

// Only for the version whose grouping this replaces; a loaded producer keeps what it loaded (a
// module that imported kafkajs before this one: slower, not wrong).
if (KAFKAJS_VERSION.startsWith('2.2.') && require.cache[KAFKAJS_GROUPING_MODULE] === undefined) {
  const replacement = new Module(KAFKAJS_GROUPING_MODULE);
  replacement.filename = KAFKAJS_GROUPING_MODULE;
  replacement.exports = groupMessagesPerPartition;
  replacement.loaded = true;
  require.cache[KAFKAJS_GROUPING_MODULE] = replacement;
}
