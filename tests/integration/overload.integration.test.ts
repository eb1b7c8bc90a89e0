import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import type { SourceConfig } from '../../services/platform/segment/source-config.js';
import { createCollectorService } from '../../services/collector/service.js';
import { createKafka } from '../../services/platform/kafka/client.js';
import { basicAuth, fullGc, memorySampler, sendRaw, usedBytes, type HttpAnswer } from '../support/hostile-corpus.js';
import { messagesIn } from '../support/drain.js';
import { onFreePortPair } from '../support/ports.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka, testLogger } from '../support/pipeline.js';

const MB = 1024 * 1024;
const MEMORY_BOUND = 200 * MB;
/** After a full GC: what requests the collector already answered still hold. */
const RETAINED_BOUND = 100 * MB;

// 2 requests/s: 8 clients exceed it even when each request takes seconds (a loaded machine), so
// whether the flood meets the limit does not depend on how fast this machine sends.
const LIMITED: SourceConfig = { writeKey: 'wk_limited', sourceId: 'limited', site: 'overload.example', allowedOrigins: [], hashEmails: false, rateLimitPerSecond: 2 };
const BULK: SourceConfig = { writeKey: 'wk_bulk', sourceId: 'bulk', site: 'overload.example', allowedOrigins: [], hashEmails: false, rateLimitPerSecond: 1_000_000 };

interface Sent {
  answer: HttpAnswer;
  messageIds: string[];
}

/** A batch of `size` track calls with fresh messageIds, as an SDK would send it; `padBytes` of properties each. */
function batchRequest(writeKey: string, size: number, tag: string, padBytes = 0) {
  const messageIds = Array.from({ length: size }, () => `${tag}-${randomBytes(6).toString('hex')}`);
  const properties = padBytes > 0 ? { pad: 'x'.repeat(padBytes) } : undefined;
  const body = Buffer.from(
    JSON.stringify({ batch: messageIds.map((messageId, i) => ({ type: 'track', event: 'Overload', anonymousId: `anon-${tag}-${i % 50}`, messageId, properties })) }),
  );
  return { messageIds, request: { method: 'POST', path: '/v1/batch', headers: { 'content-type': 'application/json', authorization: basicAuth(writeKey) }, body } };
}

async function send(base: string, writeKey: string, size: number, tag: string, padBytes = 0): Promise<Sent> {
  const { messageIds, request } = batchRequest(writeKey, size, tag, padBytes);
  return { answer: await sendRaw(base, request), messageIds };
}

/** Runs `workers` concurrent loops of `perWorker` calls each: a bounded flood. */
async function flood<T>(workers: number, perWorker: number, call: (worker: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; i < perWorker; i++) results.push(await call(worker));
    }),
  );
  return results;
}

/**
 * Every messageId on a topic, read from the beginning until `expected` are there and the reader has
 * every message the topic holds (or the wait ends: the caller's assertions then say what is missing).
 */
async function messageIdsOn(kafka: Kafka, topics: Topics, expected: (ids: Set<string>) => boolean): Promise<Set<string>> {
  const codec = topicCodecs.touchpoints();
  const ids = new Set<string>();
  let read = 0;
  const consumer = kafka.consumer({ groupId: uniqueGroupId('overload-reader'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topics.touchpoints], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        read++;
        ids.add(codec.decode(message.value!).messageId);
      },
    });
    await eventually(
      async () => ({ read, inTopic: await messagesIn(kafka, topics.touchpoints).catch(() => -1) }),
      (s) => s.read === s.inTopic && expected(ids),
      60_000,
      250,
    ).catch(() => undefined);
    return ids;
  } finally {
    await consumer.disconnect();
  }
}

const statusCounts = (sent: Sent[]) =>
  sent.reduce<Record<string, number>>((acc, s) => {
    const code = s.answer.status === 200 ? '' : ` ${(JSON.parse(s.answer.body) as { error: { code: string } }).error.code}`;
    const key = `${s.answer.status}${code}`;
    return { ...acc, [key]: (acc[key] ?? 0) + 1 };
  }, {});

function expectRefusalsToCarryRetryAfter(sent: Sent[]): void {
  for (const { answer } of sent) {
    if (answer.status === 200) continue;
    expect([429, 503], answer.body).toContain(answer.status);
    expect(answer.headers['retry-after'], `${answer.status} ${answer.body}`).toMatch(/^[1-9]\d*$/);
    const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(answer.status === 429 ? 'rate_limited' : 'unavailable');
  }
}

describe('the collector above its capacity (real HTTP, real Kafka)', () => {
  const MAX_IN_FLIGHT = 300;
  let kafka: Kafka;
  let topics: Topics;
  let collector: ReturnType<typeof createCollectorService>;
  let base: string;

  beforeAll(async () => {
    kafka = testKafka('overload');
    topics = uniqueTopics();
    // The broker is shared with other test runs and may be restarting: retry like a deployment would.
    await eventually(async () => createTestTopics(kafka, topics, 4).then(() => true, () => false), (ok) => ok, 60_000, 1_000);
    collector = createCollectorService({
      kafka,
      topics,
      sources: [LIMITED, BULK],
      host: '127.0.0.1',
      port: 0,
      sendTimeoutMs: 10_000,
      maxInFlightEvents: MAX_IN_FLIGHT,
      maxInFlightBytes: 64 * 1024 * 1024,
      registry: freshRegistry(),
      logger: testLogger('overload'),
    });
    await collector.start();
    await collector.kafkaReady();
    base = collector.address();
    await eventually(async () => (await send(base, BULK.writeKey, 10, 'warm')).answer.status, (status) => status === 200, 60_000, 1_000);
  });

  afterAll(async () => {
    await collector?.stop();
  });

  it('answers a flood with 429 and 503 plus Retry-After instead of queuing, loses no accepted event, and accepts again afterwards', async () => {
    const gc = fullGc();
    gc();
    const memory = memorySampler();
    // The sink's own count of events waiting for Kafka, as /healthz reports it, all through the flood.
    let maxInFlight = 0;
    let flooding = true;
    const inFlightSampler = (async () => {
      while (flooding) {
        const health = (await (await fetch(`${base}/healthz`)).json()) as { details: { inFlightEvents: number } };
        maxInFlight = Math.max(maxInFlight, health.details.inFlightEvents);
      }
    })();
    const started = performance.now();
    // 8 clients over one key's 2 requests/s, and 8 clients posting 200-event batches at once,
    // against room for 300 events in flight.
    const sent = await flood(16, 15, (worker) =>
      worker % 2 === 0 ? send(base, LIMITED.writeKey, 5, `limited-${worker}`) : send(base, BULK.writeKey, 200, `bulk-${worker}`),
    );
    flooding = false;
    await inFlightSampler;
    console.info(`[overload] flood took ${Math.round(performance.now() - started)} ms`);
    const { peak, baseline } = memory.stop();
    const counts = statusCounts(sent);
    console.info(`[overload] flood of ${sent.length} requests: ${JSON.stringify(counts)}; max events in flight ${maxInFlight}; peak memory +${((peak - baseline) / MB).toFixed(1)} MB`);

    expect(counts['429 rate_limited'] ?? 0).toBeGreaterThan(0);
    expect(counts['503 unavailable'] ?? 0).toBeGreaterThan(0);
    expect(counts['200'] ?? 0).toBeGreaterThan(0);
    expectRefusalsToCarryRetryAfter(sent);
    expect(maxInFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(peak - baseline).toBeLessThan(MEMORY_BOUND);

    // Recovery: after the Retry-After (1 s), both keys are served again.
    const after: Sent[] = [];
    for (const [key, size, tag] of [[LIMITED.writeKey, 5, 'after-limited'], [BULK.writeKey, 200, 'after-bulk']] as const) {
      after.push(await eventually(async () => send(base, key, size, tag), (s) => s.answer.status === 200, 30_000, 1_000));
    }

    // None lost: every event of every 200 is in Kafka; nothing of a refusal that came before any send.
    const accepted = [...sent, ...after].filter((s) => s.answer.status === 200).flatMap((s) => s.messageIds);
    const ids = await messageIdsOn(kafka, topics, (found) => accepted.every((id) => found.has(id)));
    expect(accepted.filter((id) => !ids.has(id))).toEqual([]);
    const refusedBeforeSending = sent.filter((s) => s.answer.status === 429 || (s.answer.status === 503 && s.answer.headers['retry-after'] === '1'));
    expect(refusedBeforeSending.flatMap((s) => s.messageIds).filter((id) => ids.has(id))).toEqual([]);
  });
});

describe('the collector when Kafka goes away and comes back (a second, disposable broker)', () => {
  const MAX_IN_FLIGHT = 300;
  let port: number;
  let dataDir: string;
  let kafka: Kafka;
  let topics: Topics;
  let collector: ReturnType<typeof createCollectorService>;
  let base: string;

  const broker = (command: 'up' | 'kill' | 'down') =>
    execFileSync('bash', ['infra/kafka/broker.sh', command], {
      env: { ...process.env, KAFKA_PORT: String(port), DATA_DIR: dataDir, KAFKA_HEAP: '-Xms128m -Xmx512m' },
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });

  beforeAll(async () => {
    // Another process may take the ports between the check and the JVM's bind: then try others.
    await onFreePortPair((free) => {
      port = free;
      dataDir = mkdtempSync(join(tmpdir(), 'journey-outage-'));
      try {
        broker('up');
      } catch (error) {
        broker('down');
        rmSync(dataDir, { recursive: true, force: true });
        dataDir = '';
        throw error;
      }
    });
    kafka = createKafka({ brokers: [`127.0.0.1:${port}`], clientId: 'outage', logger: testLogger('outage') });
    topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    collector = createCollectorService({
      kafka,
      topics,
      sources: [BULK],
      host: '127.0.0.1',
      port: 0,
      sendTimeoutMs: 300,
      maxInFlightEvents: MAX_IN_FLIGHT,
      maxInFlightBytes: 64 * 1024 * 1024,
      registry: freshRegistry(),
      logger: testLogger('outage-collector'),
    });
    await collector.start();
    await collector.kafkaReady();
    base = collector.address();
  });

  afterAll(async () => {
    try {
      await collector?.stop();
    } finally {
      if (dataDir) {
        broker('down');
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  });

  it('answers 503 with Retry-After while the broker is down, holds memory, and recovers on its own when it is back', async () => {
    // The first produce also fetches metadata: on a loaded machine it can miss the 300 ms send
    // timeout, so the healthy baseline is "accepted within a few tries", not "on the first".
    const first = await eventually(() => send(base, BULK.writeKey, 50, 'before'), (s) => s.answer.status === 200, 30_000, 250, 'a first batch accepted');
    const sent: Sent[] = [first];
    expect(sent[0]!.answer.status).toBe(200);

    broker('kill'); // kill -9: no goodbye to the clients

    // A bounded flood while the broker is gone: every answer is a 503 with Retry-After, and the
    // events of requests the collector gave up on must not pile up in memory.
    const gc = fullGc();
    gc();
    const baseline = usedBytes();
    const started = performance.now();
    // 15 events of 30 KB per request: ~450 KB that a request the collector gave up on could leave behind.
    const during = await flood(16, 30, () => send(base, BULK.writeKey, 15, 'outage', 30 * 1024));
    const tookMs = Math.round(performance.now() - started);
    gc();
    const retained = usedBytes() - baseline;
    // The process is alive and says what is wrong.
    const health = await fetch(`${base}/healthz`);
    const report = (await health.json()) as { ok: boolean; details: { inFlightEvents: number } };
    console.info(
      `[overload] broker down: ${JSON.stringify(statusCounts(during))} in ${tookMs} ms; events held for Kafka ${report.details.inFlightEvents}; memory retained after a full GC +${(retained / MB).toFixed(1)} MB`,
    );
    expect(during.every((s) => s.answer.status === 503)).toBe(true);
    expectRefusalsToCarryRetryAfter(during);
    expect(report.details.inFlightEvents).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(retained).toBeLessThan(RETAINED_BOUND);
    expect([200, 503]).toContain(health.status);

    broker('up');

    // Nobody restarts the collector: it serves again once the producer reconnects.
    const recovered = await eventually(
      async () => send(base, BULK.writeKey, 50, 'after'),
      (s) => s.answer.status === 200,
      60_000,
      500,
    );
    sent.push(recovered);
    const accepted = sent.flatMap((s) => s.messageIds);
    const ids = await messageIdsOn(kafka, topics, (found) => accepted.every((id) => found.has(id)));
    expect(accepted.filter((id) => !ids.has(id))).toEqual([]);
    await eventually(async () => (await fetch(`${base}/healthz`)).status, (status) => status === 200, 30_000, 250);
  });
});
