import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicsWithPrefix } from '../../schemas/topics.js';
import { createKafka } from '../../services/platform/kafka/client.js';
import { createLogger } from '../../services/platform/logging/logger.js';
import { waitHealthy } from '../faults/services.js';
import { stopAfterEach } from '../support/cleanup.js';
import { eventually } from '../support/eventually.js';
import { basicAuth } from '../support/hostile-corpus.js';
import { freePortPair } from '../support/ports.js';
import { startServiceProcess, waitForOutput } from '../support/processes.js';

// A broker of its own on a free port (not a fixed one another run may also use): this test starts
// it only after the collector is up.
let port = 0;
const dataDir = mkdtempSync(join(tmpdir(), 'journey-late-broker-'));
const broker = (command: string) =>
  execFileSync('bash', ['infra/kafka/broker.sh', command], { env: { ...process.env, KAFKA_PORT: String(port), DATA_DIR: dataDir }, stdio: 'ignore' });

beforeAll(async () => {
  port = await freePortPair();
});

afterAll(() => {
  if (port !== 0) broker('kill');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('collector started before Kafka', () => {
  const cleanup = stopAfterEach();
  it('starts anyway, answers 503 with Retry-After, and accepts events once the broker is there', async () => {
    const prefix = `late${Date.now().toString(36)}.`;
    const svc = cleanup.process(
      startServiceProcess('services/collector/main.ts', {
        KAFKA_BROKERS: `127.0.0.1:${port}`,
        KAFKA_TOPIC_PREFIX: prefix,
        COLLECTOR_HTTP_PORT: '0',
      }),
    );
    await waitForOutput(svc, 'collector: POST', 60_000);
    const base = /POST (http:\/\/\S+)\/v1\/batch/.exec(svc.output())![1]!;
    const post = (id: string) =>
      fetch(`${base}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basicAuth('wk_shop_web') },
        body: JSON.stringify({ batch: [{ type: 'track', event: 'Product Viewed', anonymousId: 'late-1', messageId: id }] }),
      });

    const early = await post('late-early');
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect((await fetch(`${base}/healthz`)).status).toBe(503);

    broker('up');
    await waitHealthy([`${base}/healthz`], 120_000);
    const accepted = await eventually(async () => (await post('late-ok')).status, (status) => status === 200, 60_000);
    expect(accepted).toBe(200);

    // Stopped, the collector can add nothing more to the topic: the count read next is final.
    svc.child.kill('SIGTERM');
    expect(await svc.exited).toBe(0);
    expect(svc.output()).not.toMatch(/unhandled|FATAL/i);

    // The accepted event is in the touchpoints topic, once.
    const kafka = createKafka({ brokers: [`127.0.0.1:${port}`], clientId: 'late-check', logger: createLogger('late-check', 'error') });
    const admin = kafka.admin();
    await admin.connect();
    cleanup.defer(() => admin.disconnect());
    // A just-started broker may still move leadership: ask again until it answers.
    const stored = await eventually(
      () => admin.fetchTopicOffsets(topicsWithPrefix(prefix).touchpoints).then((o) => o.reduce((n, p) => n + Number(p.high), 0)).catch(() => -1),
      (n) => n >= 1,
      30_000,
    );
    expect(stored).toBe(1);
  }, 300_000);
});
