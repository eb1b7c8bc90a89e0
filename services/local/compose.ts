import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Topics } from '../../schemas/topics.js';
import { buildAlerter } from '../alerter/build.js';
import { buildCollector } from '../collector/build.js';
import { clickHouseOwner, type ClickHouse } from '../platform/clickhouse/client.js';
import { pipelineTopicsSetup } from '../platform/kafka/pipeline-topics.js';
import type { Logger } from '../platform/logging/logger.js';
import { composeComponents, type Component } from '../platform/runtime/component.js';
import { buildQueryApi } from '../query-api/build.js';
import { buildSessionizer } from '../sessionizer/build.js';
import { buildSimulator } from '../simulator/build.js';
import { buildWriter } from '../writer/build.js';
import type { LocalConfig } from './config.js';

/** `npm start`'s config once the broker is known (given, or the local one started) and DATA_DIR is absolute. */
export type ResolvedLocalConfig = Omit<LocalConfig, 'KAFKA_BROKERS'> & { KAFKA_BROKERS: string[] };

/** What every service in the process shares: one Kafka client, one embedded ClickHouse (chDB: one owner per data dir), one registry. */
export interface LocalAdapters {
  kafka: Kafka;
  clickhouse: ClickHouse;
  topics: Topics;
  registry: Registry;
  logger: Logger;
}

/**
 * The whole pipeline in one process, made only of each service's own build(): nothing here sets a
 * service's behaviour, so `npm start` runs what `npm run <service>` runs. Start order: ClickHouse
 * owner, topics, writer (migrations first), sessionizer, alerter, then the HTTP services, then the
 * demo traffic; stop order is the reverse, so the shared ClickHouse closes last.
 */
export function composeLocal(config: ResolvedLocalConfig, adapters: LocalAdapters) {
  const { kafka, clickhouse, topics } = adapters;
  const pipeline = composeComponents('pipeline', [
    clickHouseOwner(clickhouse),
    pipelineTopicsSetup(kafka, topics, config.KAFKA_PARTITIONS),
    buildWriter(config, adapters),
    buildSessionizer(config, adapters),
    buildAlerter(config, { ...adapters, dashboardBase: `http://${config.HTTP_HOST}:${config.QUERY_API_HTTP_PORT}` }),
  ]);
  // Built after the pipeline so their /healthz reports the whole of it.
  const queryApi = buildQueryApi(config, { ...adapters, extraHealth: () => pipeline.health() });
  const collector = buildCollector(config, { ...adapters, extraHealth: () => pipeline.health() });
  // Demo traffic starts once the collector's producer is connected, not at its first 503.
  const collectorKafka: Component = { name: 'collector-kafka', start: () => collector.kafkaReady(), stop: async () => {}, health: () => ({ ok: true }) };
  const services = composeComponents('journey', [pipeline, queryApi, collector, collectorKafka]);
  const demo: Component = config.DEMO
    ? buildSimulator(config, { ...adapters, collectorUrl: () => collector.address() })
    : { name: 'simulator', start: async () => {}, stop: async () => {}, health: () => ({ ok: true, details: { enabled: false } }) };
  return { services, demo, queryApi, collector };
}
