import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Registry } from 'prom-client';
import { buildCollectorApp } from '../../services/collector/http/app.js';
import type { SourceConfig } from '../../services/platform/segment/source-config.js';

/**
 * Collector throughput without the network or Kafka: batches of 100 realistic browser events
 * through the full Fastify app (parse, auth, rate limit, validate, convert) with `inject` and a
 * no-op sink. The lead's end-to-end bench measures real HTTP + Kafka on top of this.
 */
const BATCH_SIZE = 100;
const WARMUP_REQUESTS = 200;
const MEASURED_REQUESTS = 1_000;

const SOURCE: SourceConfig = {
  writeKey: 'wk_bench',
  sourceId: 'bench',
  site: 'shop',
  allowedOrigins: ['*'],
  hashEmails: true,
  rateLimitPerSecond: 1_000_000,
};

export async function runCollectorCoreBench(): Promise<Record<string, number>> {
  const app = buildCollectorApp({
    sink: { send: async () => {} },
    sources: [SOURCE],
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    now: () => Date.now(),
    newMessageId: () => randomUUID(),
  });
  await app.ready();
  const authorization = `Basic ${Buffer.from(`${SOURCE.writeKey}:`).toString('base64')}`;

  const send = async (request: number): Promise<number> => {
    const payload = JSON.stringify(batchBody(request));
    const started = performance.now();
    const response = await app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization, 'content-type': 'application/json' }, payload });
    const elapsed = performance.now() - started;
    if (response.statusCode !== 200) throw new Error(`bench request failed with ${response.statusCode}: ${response.body}`);
    return elapsed;
  };

  try {
    for (let i = 0; i < WARMUP_REQUESTS; i++) await send(i);
    const latencies: number[] = [];
    const started = performance.now();
    // CPU time of this process (the bench's own body building included): unlike events/s, it
    // hardly moves when other processes load the machine.
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < MEASURED_REQUESTS; i++) latencies.push(await send(WARMUP_REQUESTS + i));
    const cpu = process.cpuUsage(cpuBefore);
    const seconds = (performance.now() - started) / 1000;

    latencies.sort((a, b) => a - b);
    return {
      collector_core_events_per_second: Math.round((MEASURED_REQUESTS * BATCH_SIZE) / seconds),
      collector_core_cpu_us_per_event: round((cpu.user + cpu.system) / (MEASURED_REQUESTS * BATCH_SIZE)),
      collector_core_requests: MEASURED_REQUESTS,
      collector_core_batch_size: BATCH_SIZE,
      collector_core_request_p50_ms: round(percentile(latencies, 0.5)),
      collector_core_request_p99_ms: round(percentile(latencies, 0.99)),
    };
  } finally {
    await app.close();
  }
}

function batchBody(request: number) {
  const sentAt = new Date().toISOString();
  const batch = Array.from({ length: BATCH_SIZE }, (_, i) => ({
    type: i % 10 === 0 ? 'page' : 'track',
    event: i % 10 === 0 ? undefined : 'Product Viewed',
    messageId: `bench-${request}-${i}`,
    anonymousId: `anon-${(request * BATCH_SIZE + i) % 5_000}`,
    userId: i % 3 === 0 ? `user-${i}` : null,
    timestamp: sentAt,
    properties: { product_id: `sku-${i}`, price: 19.9, currency: 'EUR', url: 'https://shop.example.com/products/1' },
    context: {
      library: { name: 'analytics.js', version: 'next-1.70.0' },
      page: { url: 'https://shop.example.com/products/1?utm_source=google&utm_medium=cpc', path: '/products/1', referrer: 'https://www.google.com/' },
      campaign: { source: 'google', medium: 'cpc', name: 'spring' },
      userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
      traits: i % 7 === 0 ? { email: `person${i}@example.com`, persona: 'builder' } : undefined,
    },
  }));
  return { batch, sentAt };
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
