import { Registry, collectDefaultMetrics } from 'prom-client';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { parseEnv } from '../platform/config/env.js';
import { createOpsServer } from '../platform/http/ops-server.js';
import { createKafka } from '../platform/kafka/client.js';
import { consumerTuning } from '../platform/kafka/consumer-tuning.js';
import { pipelineTopicsSetup } from '../platform/kafka/pipeline-topics.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeComponents } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { localStateDir } from '../platform/streams/local-state-log.js';
import { mergeWaitLimits } from '../platform/streams/merge-barrier.js';
import { StagesEnv } from './config.js';
import { loadStagesOptions } from './models.js';
import { createStagesService } from './service.js';

await runMain(async () => {
  const config = parseEnv(StagesEnv, process.env);
  const options = loadStagesOptions(config);
  const logger = createLogger('stages', config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-stages', logger });
  const setup = pipelineTopicsSetup(kafka, topics, config.KAFKA_PARTITIONS);
  const stages = createStagesService({
    kafka,
    topics,
    groupId: config.STAGES_GROUP_ID,
    options,
    tickLimit: config.STAGES_TICK_LIMIT,
    mergeWait: mergeWaitLimits(config.STAGES_MERGE_WAIT_SECONDS),
    consumerTuning: consumerTuning(config),
    stateDir: localStateDir(config.DATA_DIR),
    registry,
    logger,
  });
  const component = composeComponents('stages', [setup, stages]);
  const ops = createOpsServer({ name: 'stages', host: config.HTTP_HOST, port: config.STAGES_HTTP_PORT, registry, health: () => component.health(), logger });
  return {
    component: composeComponents('stages-main', [component, ops]),
    logger,
    banner: () => `stages: ${topics.customerTouchpoints} → transitions, funnel, churn; health at ${ops.address()}/healthz`,
  };
});
