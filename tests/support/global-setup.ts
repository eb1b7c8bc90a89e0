import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { dockerEngineAnswers } from './docker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    clickhouseUrl: string;
    testDataDir: string;
  }
}

/**
 * Decides where integration tests find Kafka and ClickHouse, so tests don't care:
 * 1. KAFKA_BROKERS / CLICKHOUSE_URL when set;
 * 2. else testcontainers when a Docker engine answers;
 * 3. else the local broker (infra/kafka/broker.sh, started here if needed) and embedded ClickHouse
 *    (chdb in the test process; `clickhouseUrl` is then '').
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  let brokers = process.env.KAFKA_BROKERS ?? '';
  let clickhouseUrl = process.env.CLICKHOUSE_URL ?? '';
  const docker = (!brokers || !clickhouseUrl) && (await dockerEngineAnswers());

  if (!brokers && docker) {
    const { KafkaContainer } = await import('@testcontainers/kafka').catch(() => ({ KafkaContainer: undefined }));
    if (KafkaContainer) {
      const kafka = await new KafkaContainer('apache/kafka:4.1.1').withKraft().start();
      brokers = `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;
      stops.push(async () => void (await kafka.stop()));
    }
  }
  if (!brokers) {
    const out = execFileSync('bash', ['infra/kafka/broker.sh', 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    brokers = /KAFKA_BROKERS=(\S+)/.exec(out)?.[1] ?? '127.0.0.1:19092';
  }
  if (!clickhouseUrl && docker) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const ch = await new GenericContainer('clickhouse/clickhouse-server:26.3')
      .withExposedPorts(8123)
      .withEnvironment({ CLICKHOUSE_SKIP_USER_SETUP: '1' })
      .withWaitStrategy(Wait.forHttp('/ping', 8123))
      .start();
    clickhouseUrl = `http://${ch.getHost()}:${ch.getMappedPort(8123)}`;
    stops.push(async () => void (await ch.stop()));
  }

  project.provide('kafkaBrokers', brokers);
  project.provide('clickhouseUrl', clickhouseUrl);
  // The embedded engine's data of every test file (~200 MB a run): removed once all workers are done.
  const testDataDir = mkdtempSync(join(tmpdir(), 'journey-it-'));
  project.provide('testDataDir', testDataDir);
  return async () => {
    for (const stop of stops.reverse()) await stop();
    rmSync(testDataDir, { recursive: true, force: true });
  };
}
