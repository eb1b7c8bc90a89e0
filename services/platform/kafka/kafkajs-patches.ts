// Imported for its effect, FIRST in every module that loads kafkajs (before `from 'kafkajs'`): ES
// modules evaluate their imports in order, so kafkajs' producer then loads with what is below.
import { createRequire, Module } from 'node:module';
import { groupMessagesPerPartition } from './linear-grouping.js';
import { encodeProduceRequest, encoderOf, fastProduceApplies, type ProduceRequestArgs } from './produce-request.js';

const require = createRequire(import.meta.url);
const KAFKAJS_VERSION = (require('kafkajs/package.json') as { version: string }).version;
/** Where kafkajs' producer requires its grouping from, and the module that does. */
export const KAFKAJS_GROUPING_MODULE = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
const SEND_MESSAGES_MODULE = require.resolve('kafkajs/src/producer/sendMessages.js');
/** Produce request v3, which v4-v7 build on (kafkajs 2.2 speaks v7 to Kafka 4). */
export const KAFKAJS_PRODUCE_V3_MODULE = require.resolve('kafkajs/src/protocol/requests/produce/v3/request.js');
const PRODUCE_V4_MODULE = require.resolve('kafkajs/src/protocol/requests/produce/v4/request.js');

type ProduceRequestBuilder = (args: ProduceRequestArgs) => { encode(): Promise<{ buf: Buffer; offset: number }> };
const kafkajsProduceV3 = require(KAFKAJS_PRODUCE_V3_MODULE) as ProduceRequestBuilder;
/** kafkajs' own produce request builder, whether or not the one below replaced it (tests compare the two). */
export const kafkajsOwnProduceRequest = (): ProduceRequestBuilder => kafkajsProduceV3;

// Only for the version these replace, and only before kafkajs' producer loaded them: a module that
// imported kafkajs before this one keeps kafkajs' own (slower, not wrong).
if (KAFKAJS_VERSION.startsWith('2.2.') && require.cache[SEND_MESSAGES_MODULE] === undefined && require.cache[PRODUCE_V4_MODULE] === undefined) {
  const grouping = new Module(KAFKAJS_GROUPING_MODULE);
  grouping.filename = KAFKAJS_GROUPING_MODULE;
  grouping.exports = groupMessagesPerPartition;
  grouping.loaded = true;
  require.cache[KAFKAJS_GROUPING_MODULE] = grouping;

  const produceV3: ProduceRequestBuilder = (args) => {
    const request = kafkajsProduceV3(args);
    return fastProduceApplies(args) ? { ...request, encode: async () => encoderOf(encodeProduceRequest(args)) } : request;
  };
  require.cache[KAFKAJS_PRODUCE_V3_MODULE]!.exports = produceV3;
}
