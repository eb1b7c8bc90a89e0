// `npm start`: the whole pipeline in one process — local broker, embedded ClickHouse, every
// service, and simulated demo traffic through the collector — and where to look.
import { resolve } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { parseEnv } from '../platform/config/env.js';
import { clickHouseFromEnv } from '../platform/clickhouse/client.js';
import { migrate } from '../platform/clickhouse/migrate.js';
import { ensureTopics } from '../platform/kafka/admin.js';
import { createKafka } from '../platform/kafka/client.js';
import { consumerTuning } from '../platform/kafka/consumer-tuning.js';
import { pipelineTopicSpecs } from '../platform/kafka/pipeline-topics.js';
import { createLogger } from '../platform/logging/logger.js';
import { composeComponents, type Component } from '../platform/runtime/component.js';
import { runMain } from '../platform/runtime/run-main.js';
import { loadSources } from '../collector/config.js';
import { createCollectorService } from '../collector/service.js';
import { createQueryApiService } from '../query-api/service.js';
import { sessionSettings } from '../sessionizer/settings.js';
import { SessionizerEnv } from '../sessionizer/config.js';
import { createSessionizerService } from '../sessionizer/service.js';
import { journeyRoutes } from '../writer/routes.js';
import { createWriterService } from '../writer/service.js';
import { WriterEnv } from '../writer/config.js';
import { LocalEnv } from './config.js';
import { ensureLocalBroker } from './broker.js';
import { totalLag } from './health.js';
import { createProgressReporter } from './progress.js';
import { createDemoTraffic } from './demo.js';
import { createLocalAlerter } from './alerter.js';
import { localStateDir } from '../platform/streams/local-state-log.js';

await runMain(async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(process.argv.includes('--no-demo') ? { DEMO: 'false' } : {}) };
  const config = parseEnv(LocalEnv, env);
  // Each service's own settings (session gap, flush interval, ...) apply here too.
  const writerConfig = parseEnv(WriterEnv, env);
  const sessionizerConfig = parseEnv(SessionizerEnv, env);
  const logger = createLogger('journey', config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const dataDir = resolve(config.DATA_DIR);
  const brokers = env.KAFKA_BROKERS ? config.KAFKA_BROKERS : ensureLocalBroker(dataDir);
  const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka({ brokers, clientId: 'journey-local', logger });
  const tuning = consumerTuning(config);
  const clickhouse = clickHouseFromEnv({ ...config, DATA_DIR: dataDir });
  const setup: Component = {
    name: 'setup',
    async start() {
      await ensureTopics(kafka, pipelineTopicSpecs(topics, config.KAFKA_PARTITIONS));
      await migrate(clickhouse.client, { database: config.CLICKHOUSE_DATABASE, cluster: config.CLICKHOUSE_CLUSTER, touchpointTtlDays: config.TOUCHPOINT_TTL_DAYS });
    },
    stop: () => clickhouse.close(),
    health: () => ({ ok: true }),
  };
  const writer = createWriterService({
    kafka,
    clickhouse,
    topics,
    routes: journeyRoutes(topics, config.CLICKHOUSE_DATABASE),
    groupId: writerConfig.WRITER_GROUP_ID,
    maxBufferRows: writerConfig.WRITER_MAX_BUFFER_ROWS,
    maxRowsPerInsert: writerConfig.WRITER_MAX_ROWS_PER_INSERT,
    flushIntervalMs: writerConfig.WRITER_FLUSH_INTERVAL_MS,
    replayWaitMs: writerConfig.WRITER_REPLAY_WAIT_MS,
    consumerTuning: tuning,
    registry,
    logger,
  });
  const sessionizer = createSessionizerService({
    kafka,
    topics,
    groupId: sessionizerConfig.SESSIONIZER_GROUP_ID,
    ...sessionSettings(sessionizerConfig),
    consumerTuning: tuning,
    stateDir: localStateDir(dataDir),
    registry,
    logger,
  });
  const alerter = createLocalAlerter({ env, kafka, clickhouse, topics, registry, logger, dashboardBase: `http://${config.HTTP_HOST}:${config.QUERY_API_HTTP_PORT}` });
  // Declared before the HTTP services so their /healthz can report the whole pipeline.
  const pipeline = composeComponents('pipeline', [setup, writer, sessionizer, alerter]);
  const queryApi = createQueryApiService({
    clickhouse,
    host: config.HTTP_HOST,
    port: config.QUERY_API_HTTP_PORT,
    corsOrigins: [],
    registry,
    logger,
    extraHealth: () => pipeline.health(),
  });
  const collector = createCollectorService({
    kafka,
    topics,
    sources: loadSources(env.COLLECTOR_SOURCES_FILE ?? 'services/collector/sources.local.yaml'),
    host: config.HTTP_HOST,
    port: config.COLLECTOR_HTTP_PORT,
    sendTimeoutMs: 10_000,
    maxInFlightEvents: 200_000,
    maxInFlightBytes: 64 * 1024 * 1024,
    registry,
    logger,
    extraHealth: () => pipeline.health(),
  });
  const demo = createDemoTraffic({ enabled: config.DEMO, rate: config.DEMO_RATE, seed: config.DEMO_SEED, collectorUrl: () => collector.address(), logger });
  // Demo traffic starts once the collector's producer is connected, not at its first 503.
  const collectorKafka = { name: 'collector-kafka', start: () => collector.kafkaReady(), stop: async () => {}, health: () => ({ ok: true }) };
  const all = composeComponents('journey', [pipeline, queryApi, collector, collectorKafka]);
  const progress = createProgressReporter({
    registry,
    lag: () => totalLag(all.health()),
    healthy: () => all.health().ok,
    write: (line) => process.stdout.write(`${line}\n`),
    everyMs: config.PROGRESS_EVERY_MS,
  });
  return {
    component: composeComponents('journey-local', [all, demo, progress]),
    logger,
    shutdownTimeoutMs: 60_000,
    banner: () =>
      [
        '',
        'journey pipeline is running (Ctrl-C stops it; the broker keeps running: npm run infra:down)',
        `  dashboard     ${queryApi.address()}/`,
        `  query API     ${queryApi.address()}/api/openapi.json`,
        `  collector     POST ${collector.address()}/v1/batch  (Segment HTTP API; demo write key: wk_shop_web)`,
        `  health        ${collector.address()}/healthz   metrics ${collector.address()}/metrics`,
        `  Kafka         ${brokers.join(',')}   ClickHouse ${clickhouse.mode === 'embedded' ? `embedded in ${dataDir}/clickhouse` : config.CLICKHOUSE_URL}`,
        `  demo traffic  ${config.DEMO ? `${config.DEMO_RATE} events/s (seed ${config.DEMO_SEED}); --no-demo turns it off` : 'off'}`,
        '',
      ].join('\n'),
  };
});
