import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetter } from '../../../schemas/journey.js';
import { Touchpoint } from '../../../schemas/touchpoint.js';
import type { SourceConfig } from '../../platform/segment/source-config.js';
import { SinkUnavailableError, type SinkBatch, type TouchpointSink } from '../../platform/segment/sink.js';
import { buildCollectorApp, type CollectorDeps } from './app.js';

const START = Date.UTC(2024, 4, 1, 12);
const EMAIL = 'jane.doe@example.com';

const WEB: SourceConfig = {
  writeKey: 'wk_web',
  sourceId: 'web-eu',
  site: 'shop',
  allowedOrigins: ['https://shop.example.com'],
  hashEmails: true,
  rateLimitPerSecond: 100,
};
const SERVER: SourceConfig = { writeKey: 'wk_server', sourceId: 'backend', site: 'shop', allowedOrigins: [], hashEmails: false, rateLimitPerSecond: 3 };
const PARTNER: SourceConfig = { writeKey: 'wk_partner', sourceId: 'partner', site: 'partner', allowedOrigins: ['https://partner.example.org'], hashEmails: false, rateLimitPerSecond: 100 };

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
const track = (over: Record<string, unknown> = {}) => ({ type: 'track', event: 'Product Viewed', userId: 'u-1', ...over });

/** A collector wired to an in-memory sink, a hand-driven clock, and a captured log. */
function harness(overrides: Partial<CollectorDeps> = {}) {
  const sent: SinkBatch[] = [];
  const logLines: string[] = [];
  const clock = { now: START };
  let ids = 0;
  const sink: TouchpointSink = { send: async (batch) => void sent.push(batch) };
  const registry = new Registry();
  const app = buildCollectorApp({
    sink,
    sources: [WEB, SERVER, PARTNER],
    logger: pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) }),
    metrics: registry,
    now: () => clock.now,
    newMessageId: () => `gen-${++ids}`,
    ...overrides,
  });
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });
  return { app, sent, logLines, clock, registry, post };
}

let current: ReturnType<typeof harness> | undefined;
function setup(overrides: Partial<CollectorDeps> = {}) {
  current = harness(overrides);
  return current;
}
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

const touchpointsOf = (sent: SinkBatch[]) => sent.flatMap((b) => b.touchpoints);
const deadLettersOf = (sent: SinkBatch[]) => sent.flatMap((b) => b.deadLetters);

describe('POST /v1/batch', () => {
  it('accepts a valid batch, sends it to the sink as touchpoints and counts it', async () => {
    const { post, sent, registry } = setup();
    const response = await post('/v1/batch', { batch: [track({ messageId: 'm-1' }), track({ type: 'page', name: 'Home', anonymousId: 'a-1' })] }, { authorization: basic('wk_web') });

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ success: true, accepted: 2, rejected: 0 });
    const touchpoints = touchpointsOf(sent);
    expect(touchpoints).toHaveLength(2);
    expect(touchpoints[0]).toMatchObject({ messageId: 'm-1', source: 'web-eu', site: 'shop', receivedAt: START, timestamp: START });
    expect(touchpoints[1]).toMatchObject({ messageId: 'gen-1', type: 'page', event: 'Home' });
    for (const t of touchpoints) expect(Touchpoint.safeParse(t).success).toBe(true);
    expect(await registry.getSingleMetricAsString('collector_events_accepted_total')).toContain('collector_events_accepted_total{source="web-eu"} 2');
  });

  it('answers only after the sink has settled, with what the sink answered', async () => {
    // The sink holds each batch until the test settles it. An app that answered without waiting for
    // the sink could only ever say 200; here the sink's outcome decides the answer, and the answer
    // comes after it. No pause is needed: the test settles the sink once the sink has the batch.
    const events: string[] = [];
    const batches: Array<(outcome: 'stored' | 'unavailable') => void> = [];
    let handedOver = () => {};
    const send = () =>
      new Promise<void>((resolve, reject) => {
        batches.push((outcome) => {
          events.push(`sink ${outcome}`);
          if (outcome === 'stored') resolve();
          else reject(new SinkUnavailableError('broker down', { retryAfterSeconds: 3 }));
        });
        handedOver();
      });
    const nextHandover = () => new Promise<void>((r) => (handedOver = r));
    const { post } = setup({ sink: { send } });
    const request = () =>
      post('/v1/batch', { batch: [track()] }, { authorization: basic('wk_web') }).then((r) => {
        events.push(`answered ${r.statusCode}`);
        return r;
      });

    let handover = nextHandover();
    const refused = request();
    await handover;
    batches[0]!('unavailable');
    expect((await refused).statusCode).toBe(503);

    handover = nextHandover();
    const accepted = request();
    await handover;
    batches[1]!('stored');
    expect((await accepted).statusCode).toBe(200);
    expect(events).toEqual(['sink unavailable', 'answered 503', 'sink stored', 'answered 200']);
  });

  it('keeps valid events when invalid ones are mixed in, dead-lettering those with their reasons', async () => {
    const { post, sent, registry } = setup();
    const response = await post(
      '/v1/batch',
      { batch: [track(), { type: 'track', userId: 'u-2' }, track({ timestamp: 'last tuesday' }), 42, track({ event: 'Order Completed' })] },
      { authorization: basic('wk_web') },
    );

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      success: true,
      accepted: 2,
      rejected: 3,
      errors: [
        { index: 1, reason: 'event is required' },
        { index: 2, reason: expect.stringContaining('timestamp must be an ISO-8601') },
        { index: 3, reason: 'event must be a JSON object' },
      ],
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.touchpoints.map((t) => t.event)).toEqual(['Product Viewed', 'Order Completed']);
    const deadLetters = sent[0]!.deadLetters;
    expect(deadLetters.map((d) => d.reason)).toEqual(['event is required', expect.stringContaining('timestamp'), 'event must be a JSON object']);
    for (const d of deadLetters) expect(DeadLetter.safeParse(d).success && d.stage === 'collector').toBe(true);
    expect(JSON.parse(deadLetters[0]!.payload)).toEqual({ type: 'track', userId: 'u-2' });
    expect(await registry.getSingleMetricAsString('collector_events_rejected_total')).toContain(
      'collector_events_rejected_total{source="web-eu",reason="invalid_event"} 3',
    );
  });

  it('dead-letters an event over 32 KB and keeps the rest of the batch', async () => {
    const { post, sent } = setup();
    const response = await post('/v1/batch', { batch: [track({ properties: { blob: 'x'.repeat(33 * 1024) } }), track()] }, { authorization: basic('wk_web') });
    expect(response.json()).toMatchObject({ accepted: 1, rejected: 1, errors: [{ index: 0, reason: expect.stringContaining('limit is 32768 bytes') }] });
    expect(deadLettersOf(sent)).toHaveLength(1);
  });

  it('refuses a request body over 500 KB with 400 request_too_large and sends nothing', async () => {
    const { post, sent } = setup();
    const events = Array.from({ length: 20 }, () => track({ properties: { blob: 'x'.repeat(30 * 1024) } }));
    const response = await post('/v1/batch', { batch: events }, { authorization: basic('wk_web') });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: { code: 'request_too_large', message: expect.stringContaining('512000 bytes') } });
    expect(sent).toHaveLength(0);
  });

  it('applies the 500 KB limit after gzip decompression', async () => {
    const { post } = setup();
    const body = gzipSync(JSON.stringify({ batch: Array.from({ length: 20 }, () => track({ properties: { blob: 'x'.repeat(30 * 1024) } })) }));
    expect(body.length).toBeLessThan(10 * 1024);
    const response = await post('/v1/batch', body, { authorization: basic('wk_web'), 'content-encoding': 'gzip' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('request_too_large');
  });

  it('refuses a batch of more than 2,500 events with 400 too_many_events', async () => {
    const { post, sent } = setup();
    const response = await post('/v1/batch', { batch: Array.from({ length: 2_501 }, () => ({ type: 'track', event: 'E', userId: 'u' })) }, { authorization: basic('wk_web') });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: { code: 'too_many_events', message: 'batch has 2501 events; the limit is 2500' } });
    expect(sent).toHaveLength(0);
  });

  it('accepts a gzip-compressed body', async () => {
    const { post, sent } = setup();
    const response = await post('/v1/batch', gzipSync(JSON.stringify({ batch: [track(), track()] })), { authorization: basic('wk_web'), 'content-encoding': 'gzip' });
    expect(response.json()).toEqual({ success: true, accepted: 2, rejected: 0 });
    expect(touchpointsOf(sent)).toHaveLength(2);
  });

  it('refuses a gzip bomb (50 MB of zeros) with 400 and sends nothing', async () => {
    // That inflation stops after the limit instead of inflating everything is shown in body.test.ts
    // (how much of the upload is read); how long it takes depends on the machine and is not asserted.
    const { post, sent } = setup();
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    const response = await post('/v1/batch', bomb, { authorization: basic('wk_web'), 'content-encoding': 'gzip' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('request_too_large');
    expect(sent).toHaveLength(0);
  });

  it('answers 400 bad_json for malformed JSON and bad_encoding for corrupt gzip', async () => {
    const { post } = setup();
    const malformed = await post('/v1/batch', '{"batch": [', { authorization: basic('wk_web') });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toEqual({ error: { code: 'bad_json', message: 'request body is not valid JSON' } });
    const corrupt = await post('/v1/batch', 'not gzip', { authorization: basic('wk_web'), 'content-encoding': 'gzip' });
    expect(corrupt.json().error.code).toBe('bad_encoding');
  });

  it('answers 400 invalid_body when the body is JSON but has no batch array', async () => {
    const { post } = setup();
    const response = await post('/v1/batch', { events: [] }, { authorization: basic('wk_web') });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('invalid_body');
  });

  it('corrects device clock skew with the batch sentAt', async () => {
    const { post, sent } = setup();
    // The device clock runs one hour fast; the event happened 3 s before the upload.
    const deviceNow = START + 3_600_000;
    await post(
      '/v1/batch',
      { sentAt: new Date(deviceNow).toISOString(), batch: [track({ originalTimestamp: new Date(deviceNow - 3_000).toISOString() })] },
      { authorization: basic('wk_web') },
    );
    expect(touchpointsOf(sent)[0]).toMatchObject({ timestamp: START - 3_000, originalTimestamp: deviceNow - 3_000, sentAt: deviceNow, receivedAt: START });
  });

  it('merges the batch-level context under each event context', async () => {
    const { post, sent } = setup();
    await post(
      '/v1/batch',
      { context: { campaign: { medium: 'email', name: 'spring' } }, batch: [track(), track({ context: { campaign: { medium: 'cpc' } } })] },
      { authorization: basic('wk_web') },
    );
    expect(touchpointsOf(sent).map((t) => [t.channel, t.utmCampaign])).toEqual([
      ['email', 'spring'],
      ['ads', 'spring'],
    ]);
  });

  it('keeps unknown fields in the touchpoint properties', async () => {
    const { post, sent } = setup();
    await post('/v1/batch', { batch: [track({ properties: { sku: 'A-1' }, experiment: { arm: 'B' }, _metadata: { bundled: ['x'] } })] }, { authorization: basic('wk_web') });
    expect(JSON.parse(touchpointsOf(sent)[0]!.properties)).toEqual({ sku: 'A-1', experiment: { arm: 'B' }, _metadata: { bundled: ['x'] } });
  });
});

describe('single-event endpoints', () => {
  it.each([
    ['/v1/track', { event: 'Signed Up', userId: 'u' }, 'track'],
    ['/v1/identify', { userId: 'u', traits: { plan: 'pro' } }, 'identify'],
    ['/v1/page', { anonymousId: 'a', name: 'Pricing' }, 'page'],
    ['/v1/screen', { userId: 'u', name: 'Home' }, 'screen'],
    ['/v1/group', { userId: 'u', groupId: 'acme' }, 'group'],
    ['/v1/alias', { userId: 'u', previousId: 'a' }, 'alias'],
    ['/v1/t', { event: 'Signed Up', userId: 'u' }, 'track'],
  ])('%s accepts one event as a %s call', async (url, body, type) => {
    const { post, sent } = setup();
    const response = await post(url, body, { authorization: basic('wk_web') });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ success: true, accepted: 1, rejected: 0 });
    expect(touchpointsOf(sent)[0]?.type).toBe(type);
  });

  it('answers 400 invalid_event for an invalid event and still dead-letters it', async () => {
    const { post, sent } = setup();
    const response = await post('/v1/track', { userId: 'u' }, { authorization: basic('wk_web') });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: { code: 'invalid_event', message: 'event is required' } });
    expect(deadLettersOf(sent).map((d) => d.reason)).toEqual(['event is required']);
  });

  it('answers 400 event_too_large for a single event over 32 KB', async () => {
    const { post, sent } = setup();
    const response = await post('/v1/track', track({ properties: { blob: 'x'.repeat(33 * 1024) } }), { authorization: basic('wk_web') });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('event_too_large');
    expect(deadLettersOf(sent)).toHaveLength(1);
  });
});

describe('authentication', () => {
  it('accepts the write key as the HTTP Basic username', async () => {
    const { post, sent } = setup();
    expect((await post('/v1/batch', { batch: [track()] }, { authorization: basic('wk_server') })).statusCode).toBe(200);
    expect(touchpointsOf(sent)[0]?.source).toBe('backend');
  });

  it('accepts the write key in the body, as analytics.js sends it with text/plain', async () => {
    const { post, sent } = setup();
    const single = await post('/v1/t', JSON.stringify({ ...track(), writeKey: 'wk_web' }), { 'content-type': 'text/plain' });
    const batch = await post('/v1/b', JSON.stringify({ writeKey: 'wk_web', batch: [track()] }), { 'content-type': 'text/plain' });
    expect([single.statusCode, batch.statusCode]).toEqual([200, 200]);
    expect(touchpointsOf(sent).map((t) => t.source)).toEqual(['web-eu', 'web-eu']);
    // The key is a credential: it is not kept with the event.
    expect(JSON.stringify(sent)).not.toContain('wk_web');
  });

  it('answers 401 for an unknown key in the header or the body, and for no key at all', async () => {
    const { post, sent, registry } = setup();
    for (const response of [
      await post('/v1/batch', { batch: [track()] }, { authorization: basic('wk_nope') }),
      await post('/v1/batch', { writeKey: 'wk_nope', batch: [track()] }),
      await post('/v1/batch', { batch: [track()] }),
    ]) {
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe('unauthorized');
    }
    expect(sent).toHaveLength(0);
    expect(await registry.getSingleMetricAsString('collector_events_rejected_total')).toContain('{source="unknown",reason="unauthorized"} 3');
  });
});

describe('sink failures', () => {
  it('answers 503 with Retry-After when the sink is unavailable', async () => {
    const { post, registry } = setup({ sink: { send: async () => Promise.reject(new SinkUnavailableError('broker down', { retryAfterSeconds: 7 })) } });
    const response = await post('/v1/batch', { batch: [track(), track()] }, { authorization: basic('wk_web') });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('7');
    expect(response.json()).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    expect(await registry.getSingleMetricAsString('collector_events_rejected_total')).toContain('{source="web-eu",reason="unavailable"} 2');
    expect(await registry.getSingleMetricAsString('collector_sink_duration_seconds')).toContain('outcome="unavailable"');
  });

  it('answers 500 without internals for an unexpected sink error', async () => {
    const { post } = setup({ sink: { send: async () => Promise.reject(new Error('kafka: leader epoch 7 mismatch at 10.0.0.3')) } });
    const response = await post('/v1/batch', { batch: [track()] }, { authorization: basic('wk_web') });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(response.body).not.toContain('10.0.0.3');
    expect(response.body).not.toContain('at ');
  });
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After once a write key exceeds its per-second limit, and recovers next second', async () => {
    const { post, clock, registry } = setup();
    const send = (key: string) => post('/v1/batch', { batch: [track()] }, { authorization: basic(key) });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send('wk_server')).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);

    const limited = await send('wk_server');
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json().error.code).toBe('rate_limited');
    // Limits are per write key: another key is unaffected.
    expect((await send('wk_web')).statusCode).toBe(200);

    clock.now += 1_000;
    expect((await send('wk_server')).statusCode).toBe(200);
    expect(await registry.getSingleMetricAsString('collector_events_rejected_total')).toContain('{source="backend",reason="rate_limited"} 2');
  });

  it('counts every endpoint against the same per-key budget', async () => {
    const { post } = setup();
    const headers = { authorization: basic('wk_server') };
    const statuses = [
      (await post('/v1/batch', { batch: [track()] }, headers)).statusCode,
      (await post('/v1/track', track(), headers)).statusCode,
      (await post('/v1/identify', { userId: 'u' }, headers)).statusCode,
      (await post('/v1/t', track(), headers)).statusCode,
    ];
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('limits keys sent in the body too', async () => {
    const { post } = setup();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post('/v1/batch', { writeKey: 'wk_server', batch: [track()] })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('CORS', () => {
  const preflight = (app: ReturnType<typeof harness>['app'], origin: string) =>
    app.inject({ method: 'OPTIONS', url: '/v1/batch', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });

  it('answers a preflight from an origin some key allows', async () => {
    const { app } = setup();
    const response = await preflight(app, 'https://shop.example.com');
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('https://shop.example.com');
    expect(response.headers['access-control-allow-methods']).toBe('POST');
  });

  it('gives no CORS headers to a preflight from an origin no key allows', async () => {
    const { app } = setup();
    const response = await preflight(app, 'https://evil.example.net');
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows a request from an origin on its key’s list', async () => {
    const { post } = setup();
    const response = await post('/v1/batch', { writeKey: 'wk_web', batch: [track()] }, { origin: 'https://shop.example.com', 'content-type': 'text/plain' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe('https://shop.example.com');
  });

  it('refuses with 403 an origin allowed for another key but not for this one, key in header or body', async () => {
    const { post, sent } = setup();
    const viaHeader = await post('/v1/batch', { batch: [track()] }, { origin: 'https://partner.example.org', authorization: basic('wk_web') });
    expect(viaHeader.statusCode).toBe(403);
    expect(viaHeader.json().error.code).toBe('origin_denied');
    // The header key is known before CORS runs, so the browser is not even allowed to read the answer.
    expect(viaHeader.headers['access-control-allow-origin']).toBeUndefined();

    const viaBody = await post('/v1/batch', { writeKey: 'wk_web', batch: [track()] }, { origin: 'https://partner.example.org' });
    expect(viaBody.statusCode).toBe(403);
    expect(sent).toHaveLength(0);
  });

  it('refuses browser requests for a server key with no allowed origins, but serves servers (no Origin)', async () => {
    const { post } = setup();
    expect((await post('/v1/batch', { batch: [track()] }, { origin: 'https://shop.example.com', authorization: basic('wk_server') })).statusCode).toBe(403);
    expect((await post('/v1/batch', { batch: [track()] }, { authorization: basic('wk_server') })).statusCode).toBe(200);
  });
});

describe('personal data', () => {
  it('hashes emails for opted-in sources and never lets a raw email reach the sink, the answer or the logs', async () => {
    const { post, sent, logLines } = setup();
    const identify = { type: 'identify', userId: 'u-1', traits: { email: EMAIL, plan: 'pro' } };
    const invalid = { type: 'identify', traits: { email: EMAIL } };
    const responses = [
      await post('/v1/batch', { batch: [identify, invalid, track({ context: { traits: { email: EMAIL } } })] }, { authorization: basic('wk_web') }),
      await post('/v1/batch', { batch: [identify] }, { authorization: basic('wk_server') }),
      await post('/v1/identify', invalid, { authorization: basic('wk_web') }),
      await post('/v1/batch', `{"batch":[{"email":"${EMAIL}"`, { authorization: basic('wk_web') }),
    ];

    const [web, server] = [touchpointsOf([sent[0]!]), touchpointsOf([sent[1]!])];
    expect(web[0]?.emailHash).toMatch(/^[0-9a-f]{64}$/);
    expect(web[1]?.emailHash).toBe(web[0]?.emailHash);
    expect(JSON.parse(web[0]!.properties)).toEqual({ plan: 'pro' });
    // hashEmails is opt-in: the server source stores no hash, and no email either.
    expect(server[0]?.emailHash).toBeNull();

    expect(deadLettersOf(sent)).toHaveLength(2);
    expect(logLines.length).toBeGreaterThan(0);
    const everything = [JSON.stringify(sent), ...responses.map((r) => r.body), ...logLines].join('\n');
    expect(everything).not.toContain(EMAIL);
    expect(everything).not.toContain('jane');
  });

  it('logs one structured line per request with ids and counts, not bodies', async () => {
    const { post, logLines } = setup();
    await post('/v1/batch', { batch: [track({ properties: { secretThing: 'do-not-log' } })] }, { authorization: basic('wk_web') });
    const line = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request handled');
    expect(line).toMatchObject({ route: '/v1/batch', statusCode: 200, source: 'web-eu', accepted: 1, rejected: 0 });
    expect(logLines.join('')).not.toContain('do-not-log');
    expect(logLines.join('')).not.toContain('wk_web');
  });
});

describe('other requests', () => {
  it('answers unknown endpoints with a JSON 404', async () => {
    const { app } = setup();
    const response = await app.inject({ method: 'GET', url: '/v1/nope' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('not_found');
  });

  it('records request durations by route and status', async () => {
    const { post, registry } = setup();
    await post('/v1/batch', { batch: [track()] }, { authorization: basic('wk_web') });
    expect(await registry.getSingleMetricAsString('collector_request_duration_seconds')).toContain(
      'collector_request_duration_seconds_count{route="/v1/batch",status_code="200"} 1',
    );
  });
});
