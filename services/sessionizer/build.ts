import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Topics } from '../../schemas/topics.js';
import { consumerTuning } from '../platform/kafka/consumer-tuning.js';
import type { Logger } from '../platform/logging/logger.js';
import { localStateDir } from '../platform/streams/local-state-log.js';
import type { SessionizerConfig } from './config.js';
import { createSessionizerService } from './service.js';
import { sessionSettings } from './settings.js';

export interface SessionizerAdapters {
  kafka: Kafka;
  topics: Topics;
  registry: Registry;
  logger: Logger;
}

/**
 * The sessionizer from its parsed config: `npm run sessionizer` and `npm start` both build it here.
 * The rule files are read once, here (sessionSettings); local state copies live under DATA_DIR.
 */
export function buildSessionizer(config: SessionizerConfig, adapters: SessionizerAdapters) {
  return createSessionizerService({
    kafka: adapters.kafka,
    topics: adapters.topics,
    groupId: config.SESSIONIZER_GROUP_ID,
    ...sessionSettings(config),
    consumerTuning: consumerTuning(config),
    stateDir: localStateDir(config.DATA_DIR),
    identityStore: config.SESSIONIZER_IDENTITY_STORE === 'lmdb' ? { kind: 'lmdb', cacheIds: config.SESSIONIZER_IDENTITY_CACHE_IDS } : { kind: 'memory' },
    maxForgottenIds: config.FORGOTTEN_IDS_MAX,
    registry: adapters.registry,
    logger: adapters.logger,
  });
}
