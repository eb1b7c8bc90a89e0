import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../schemas/journey.js';
import { topicCodecs, type Topics } from '../../schemas/topics.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import { createCollectorService } from '../../services/collector/service.js';
import {
  basicAuth,
  collectorCorpus,
  fullGc,
  memorySampler,
  sendRaw,
  sendRetrying,
  usedBytes,
  type HostileRequest,
  type HttpAnswer,
  type Refusal,
} from '../support/hostile-corpus.js';
import { messagesIn } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka, testLogger } from '../support/pipeline.js';

const WRITE_KEY = 'wk_hostile';
const SOURCE_ID = 'hostile';
const MB = 1024 * 1024;
/** Loose on purpose: catches a body inflated or buffered in full (hundreds of MB), not noise. */
const MEMORY_BOUND = 200 * MB;

const corpus = collectorCorpus({ writeKey: WRITE_KEY, runId: `h${randomBytes(3).toString('hex')}` });

/** A good request outside the corpus (its events are not counted with the corpus's). */
const control = (label: string): HostileRequest => ({
  name: label,
  method: 'POST',
  path: '/v1/batch',
  headers: { 'content-type': 'application/json', authorization: basicAuth(WRITE_KEY) },
  body: Buffer.from(JSON.stringify({ batch: [{ type: 'track', event: 'Control', anonymousId: `control-${label}`, messageId: `control-${label}-${randomBytes(4).toString('hex')}` }] })),
  expect: { status: 200, accepted: [], refused: [] },
});

/** No stack frames, file paths or engine internals in an answer. */
const INTERNALS = /\bat \S+ \(|\bat (?:async )?[\w.<>]+ [(/]|[\\/](?:work|home|usr|tmp|services|node_modules)[\\/]|node:internal|\.[cm]?[jt]s:\d+|FST_|ERR_|Error: /;

describe('the collector under hostile input (real HTTP, real Kafka)', () => {
  let kafka: Kafka;
  let topics: Topics;
  let collector: ReturnType<typeof createCollectorService>;
  let base: string;
  let consumer: Consumer;
  const touchpoints: Touchpoint[] = [];
  const deadLetters: DeadLetter[] = [];
  const answers = new Map<string, HttpAnswer>();
  /** Entries answered 503 at least once (the shared broker restarted): their events may be in Kafka twice. */
  const retried = new Set<string>();
  let baselineAfterGc = 0;
  let sampler: ReturnType<typeof memorySampler>;
  const gc = fullGc();

  beforeAll(async () => {
    kafka = testKafka('hostile-collector');
    topics = uniqueTopics();
    // The broker is shared with other test runs and may be restarting: retry like a deployment would.
    await eventually(async () => createTestTopics(kafka, topics, 2).then(() => true, () => false), (ok) => ok, 60_000, 1_000);
    collector = createCollectorService({
      kafka,
      topics,
      sources: [{ writeKey: WRITE_KEY, sourceId: SOURCE_ID, site: 'hostile.example', allowedOrigins: [], hashEmails: false, rateLimitPerSecond: 1_000_000 }],
      host: '127.0.0.1',
      port: 0,
      sendTimeoutMs: 10_000,
      maxInFlightEvents: 200_000,
      maxInFlightBytes: 64 * 1024 * 1024,
      registry: freshRegistry(),
      logger: testLogger('hostile-collector'),
    });
    await collector.start();
    await collector.kafkaReady();
    base = collector.address();

    const touchpointCodec = topicCodecs.touchpoints();
    const deadLetterCodec = topicCodecs.deadLetter();
    consumer = kafka.consumer({ groupId: uniqueGroupId('hostile-reader'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.touchpoints, topics.deadLetter], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (topic === topics.touchpoints) touchpoints.push(touchpointCodec.decode(message.value!));
        else deadLetters.push(deadLetterCodec.decode(message.value!));
      },
    });

    // Warm up (JIT, producer connections, lazily built bombs) before the baseline.
    expect((await sendRetrying(base, control('warm-up'))).status).toBe(200);
    for (const entry of corpus) void entry.body;
    gc();
    baselineAfterGc = usedBytes();
    sampler = memorySampler();
  });

  afterAll(async () => {
    sampler?.stop();
    await consumer?.disconnect();
    await collector?.stop();
  });

  /**
   * Waits until the reader has read every message the topic holds (at least `atLeast`). Every
   * request was answered before this runs, and a 200 means Kafka has the events: the counts read
   * after this are what the topic holds, so an event written twice would show.
   */
  const readEverything = (topic: string, read: () => number, atLeast: number) =>
    eventually(
      async () => ({ read: read(), inTopic: await messagesIn(kafka, topic).catch(() => -1) }),
      (s) => s.read >= atLeast && s.read === s.inTopic,
      60_000,
      200,
      `the reader has all of ${topic}`,
    );

  describe.each(corpus.map((entry) => [entry.name, entry] as const))('%s', (_name, entry: HostileRequest) => {
    it(`is answered ${entry.expect.status}${'code' in entry.expect ? ` ${entry.expect.code}` : ''}, as JSON without internals`, async () => {
      const answer = await sendRetrying(base, entry);
      if (answer.retried) retried.add(entry.name);
      answers.set(entry.name, answer);
      expect(answer.status, answer.body.slice(0, 300)).toBe(entry.expect.status);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(answer.body).not.toMatch(INTERNALS);
      const body = JSON.parse(answer.body) as Record<string, unknown>;
      if (entry.expect.status === 200) {
        const rejected = entry.expect.refused.length + (entry.expect.unprobedRefusals ?? 0);
        expect(body).toMatchObject({ success: true, accepted: entry.expect.accepted.length, rejected });
        if (rejected > 0) expect((body.errors as unknown[]).length).toBe(rejected);
      } else {
        expect(Object.keys(body)).toEqual(['error']);
        const error = body.error as { code: string; message: string };
        expect(Object.keys(error).sort()).toEqual(['code', 'message']);
        expect(error.code).toBe(entry.expect.code);
        expect(error.message.length).toBeGreaterThan(0);
        expect(error.message.length).toBeLessThan(300);
      }
    });
  });

  it('answered every class of refusal the corpus expects (summary)', () => {
    const classes = new Map<string, number>();
    for (const answer of answers.values()) {
      const code = answer.status === 200 ? '' : ` ${(JSON.parse(answer.body) as { error?: { code?: string } }).error?.code ?? '?'}`;
      classes.set(`${answer.status}${code}`, (classes.get(`${answer.status}${code}`) ?? 0) + 1);
    }
    if (retried.size > 0) console.info(`[hostile-collector] answered 503 first (broker restarting), then as expected: ${[...retried].join('; ')}`);
    console.info(`[hostile-collector] answers by class: ${[...classes].sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    expect(answers.size).toBe(corpus.length);
  });

  it('holds memory within a loose bound while answering the whole corpus, bombs included', () => {
    const { peak, baseline } = sampler.stop();
    console.info(`[hostile-collector] peak heap+external during the corpus: +${((peak - baseline) / MB).toFixed(1)} MB`);
    expect(peak - baseline).toBeLessThan(MEMORY_BOUND);
  });

  it('every good event mixed into a hostile request reaches the touchpoints topic exactly once, with its fields', async () => {
    const accepted = corpus.flatMap((e) => (e.expect.status === 200 ? e.expect.accepted.map((a) => ({ ...a, retried: retried.has(e.name) })) : []));
    const probeOf = (tp: Touchpoint) => (JSON.parse(tp.properties) as { probe?: string }).probe;
    await readEverything(topics.touchpoints, () => touchpoints.length, accepted.length);

    const byProbe = new Map<string, Touchpoint[]>();
    for (const tp of touchpoints) {
      const probe = probeOf(tp);
      if (probe === undefined) continue;
      byProbe.set(probe, [...(byProbe.get(probe) ?? []), tp]);
    }
    const controls = touchpoints.filter((tp) => tp.messageId.startsWith('control-')).length;
    for (const a of accepted) {
      const found = byProbe.get(a.probe) ?? [];
      if (a.retried) expect(found.length, `touchpoints for ${a.probe}`).toBeGreaterThanOrEqual(1);
      else expect(found.length, `touchpoints for ${a.probe}`).toBe(1);
      const tp = found[0]!;
      if (a.messageId !== null) expect(tp.messageId).toBe(a.messageId);
      else expect(tp.messageId).toMatch(/^[0-9a-f-]{36}$/);
      expect(tp.source).toBe(SOURCE_ID);
      for (const [field, want] of Object.entries(a.fields ?? {})) {
        const got = tp[field as keyof Touchpoint];
        if (want instanceof RegExp) expect(got, `${a.probe}.${field}`).toMatch(want);
        else expect(got, `${a.probe}.${field}`).toEqual(want);
      }
    }
    if (retried.size === 0) expect(touchpoints.length - controls).toBe(accepted.length);
  });

  it('every refused event reaches the dead-letter topic once, with its reason', async () => {
    const refused: Array<Refusal & { retried: boolean }> = corpus.flatMap((e) =>
      (e.expect.status === 200 ? e.expect.refused : (e.expect.deadLettered ?? [])).map((r) => ({ ...r, retried: retried.has(e.name) })),
    );
    const unprobed = corpus.reduce((sum, e) => sum + (e.expect.status === 200 ? (e.expect.unprobedRefusals ?? 0) : 0), 0);
    await readEverything(topics.deadLetter, () => deadLetters.length, refused.length + unprobed);

    // Payloads may be cut short (bounded dead letters), so probes are found by pattern, not by parsing.
    const probesOf = (d: DeadLetter): string[] => {
      const found = d.key?.startsWith('anon-') ? [d.key.slice('anon-'.length)] : [];
      const probe = /"probe":"([^"]+)"/.exec(d.payload)?.[1] ?? /^"([^"]+)"$/.exec(d.payload)?.[1];
      if (probe !== undefined) found.push(probe);
      return [...new Set(found)];
    };
    for (const r of refused) {
      const found = deadLetters.filter((d) => probesOf(d).includes(r.probe));
      if (r.retried) expect(found.length, `dead letters for ${r.probe}`).toBeGreaterThanOrEqual(1);
      else expect(found.length, `dead letters for ${r.probe}`).toBe(1);
      expect(found[0]).toMatchObject({ stage: 'collector', sourceTopic: `segment-http:${SOURCE_ID}` });
      expect(found[0]!.reason).toMatch(r.reason);
    }
    if (retried.size === 0) expect(deadLetters.length).toBe(refused.length + unprobed);
    for (const d of deadLetters) {
      expect(d.reason.length).toBeGreaterThan(0);
      expect(Buffer.byteLength(d.payload)).toBeLessThanOrEqual(64 * 1024);
      expect(Buffer.byteLength(d.key ?? '')).toBeLessThanOrEqual(1024);
    }
  });

  it('no request polluted Object.prototype', () => {
    const probe = {} as Record<string, unknown>;
    expect(probe.polluted).toBeUndefined();
    expect(probe.writeKey).toBeUndefined();
    expect(probe.userId).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  it('stays healthy and keeps accepting after the corpus, with memory back near where it started', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, details: { inFlightEvents: 0 } });
    expect((await sendRetrying(base, control('after'))).status).toBe(200);

    gc();
    const growth = usedBytes() - baselineAfterGc;
    console.info(`[hostile-collector] heap+external after the corpus and a full GC: ${growth >= 0 ? '+' : ''}${(growth / MB).toFixed(1)} MB`);
    expect(growth).toBeLessThan(MEMORY_BOUND);
  });
});
