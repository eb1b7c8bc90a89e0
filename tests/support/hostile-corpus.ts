import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createDeflate, createGzip, gzipSync } from 'node:zlib';
import { MAX_BATCH_EVENTS, MAX_EVENT_BYTES, MAX_REQUEST_BYTES } from '../../services/platform/segment/limits.js';

/**
 * Hostile input for the collector and the query API: what an attacker, a broken SDK or a fuzzer
 * sends. Every entry says how to send it and which class of answer it must get, so the same corpus
 * drives the integration tests and can be replayed by hand against a running service.
 */

// ---------------------------------------------------------------------------------------------
// Collector
// ---------------------------------------------------------------------------------------------

/** An event the collector must refuse into the dead-letter topic, with the reason it must give. */
export interface Refusal {
  /** The event's `probe` field (also its messageId and `anon-<probe>` anonymousId when it has them). */
  probe: string;
  reason: RegExp;
}

/** An event the collector must accept, with fields its touchpoint must have. */
export interface Acceptance {
  probe: string;
  /** The touchpoint's messageId; `null` when the event sent none (the collector generates one). */
  messageId: string | null;
  /** Touchpoint fields: equal to the value, or matching it when it is a RegExp. */
  fields?: Record<string, unknown>;
}

export type CollectorExpectation =
  /** 200: events are judged one by one; good ones reach `touchpoints`, bad ones `dead-letter`. */
  | { status: 200; accepted: Acceptance[]; refused: Refusal[]; /** Refused events that carry no probe (e.g. `null`). */ unprobedRefusals?: number }
  /** A clear 4xx `{ error: { code, message } }`; single-event endpoints also dead-letter the event. */
  | { status: 400 | 401 | 403 | 404; code: string; deadLettered?: Refusal[] };

export interface HostileRequest {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Bytes sent with a Content-Length, or a stream factory sent chunked (unless headers declare a length). */
  body?: Buffer | (() => Readable);
  expect: CollectorExpectation;
}

export interface CollectorCorpusOptions {
  /** A write key the collector knows (rate limit high enough for the whole corpus). */
  writeKey: string;
  /** Makes probes unique across runs and corpora. */
  runId: string;
}

export const basicAuth = (writeKey: string): string => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

const KB = 1024;
const MB = 1024 * KB;

/**
 * A gzip bomb that fits under the 500 KB wire limit: 400 members of 1 MB of zeros (~400 KB, a valid
 * multi-member gzip file) inflating to 400 MB. Built from one small member, so building it holds no
 * 400 MB buffer.
 */
let smallBomb: Buffer | undefined;
function bombUnderWireLimit(): Buffer {
  smallBomb ??= Buffer.concat(Array.from({ length: 400 }, () => gzipSync(Buffer.alloc(MB), { level: 9 })));
  return smallBomb;
}

/** `total` zero bytes, compressed while streaming: nothing of the size is ever held in memory. */
export function streamedGzipBomb(total: number, format: 'gzip' | 'deflate' = 'gzip'): () => Readable {
  return () => {
    const chunk = Buffer.alloc(MB);
    let sent = 0;
    const zeros = new Readable({
      read() {
        if (sent >= total) return void this.push(null);
        sent += chunk.length;
        this.push(chunk);
      },
    });
    return zeros.pipe(format === 'gzip' ? createGzip({ level: 9 }) : createDeflate({ level: 9 }));
  };
}

/** Sends `head` and then nothing, never ending: for bodies whose declared length is a lie. */
function neverEnding(head: Buffer): () => Readable {
  return () => {
    let pushed = false;
    return new Readable({
      read() {
        if (!pushed) {
          pushed = true;
          this.push(head);
        }
      },
    });
  };
}

/** Chunked upload of `bytes` in 16 KB pieces, no Content-Length. */
function chunked(bytes: Buffer): () => Readable {
  return () => Readable.from((function* () {
    for (let i = 0; i < bytes.length; i += 16 * KB) yield bytes.subarray(i, i + 16 * KB);
  })());
}

const nested = (depth: number, leaf: string, open: string, close: string): string => open.repeat(depth) + leaf + close.repeat(depth);

export function collectorCorpus({ writeKey, runId }: CollectorCorpusOptions): HostileRequest[] {
  let n = 0;
  const id = (label: string) => `${runId}-${++n}-${label}`;
  /** A valid track call whose probe is its messageId and whose anonymousId is `anon-<probe>`. */
  const track = (probe: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
    type: 'track',
    event: 'Hostile Probe',
    anonymousId: `anon-${probe}`,
    messageId: probe,
    probe,
    ...over,
  });
  const good = (label = 'good') => {
    const probe = id(label);
    return { event: track(probe), accepted: { probe, messageId: probe } satisfies Acceptance };
  };
  const auth = { authorization: basicAuth(writeKey) };
  const json = { 'content-type': 'application/json', ...auth };
  const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');

  const entries: HostileRequest[] = [];
  const post = (name: string, body: HostileRequest['body'], expect: CollectorExpectation, headers: Record<string, string> = json, path = '/v1/batch') =>
    entries.push({ name, method: 'POST', path, headers, body, expect });
  const refusedBy = (status: 400 | 401 | 403 | 404, code: string) => ({ status, code }) as const;

  // ---- positive controls: the corpus would prove nothing if good requests failed too -----------
  {
    const a = good();
    post('a valid batch (control)', bytes({ batch: [a.event] }), { status: 200, accepted: [a.accepted], refused: [] });
    const b = good();
    post('a valid gzip batch (control)', gzipSync(bytes({ batch: [b.event] })), { status: 200, accepted: [b.accepted], refused: [] }, { ...json, 'content-encoding': 'gzip' });
    const c = good();
    post('the write key in the body, as text/plain (control)', bytes({ batch: [c.event], writeKey }), { status: 200, accepted: [c.accepted], refused: [] }, { 'content-type': 'text/plain' });
  }

  // ---- malformed and truncated JSON --------------------------------------------------------------
  const validText = JSON.stringify({ batch: [track(id('truncated'))] });
  for (const [name, text] of [
    ['an unterminated array', '{"batch": ['],
    ['a truncated valid batch', validText.slice(0, Math.floor(validText.length * 0.6))],
    ['unquoted keys', '{batch: []}'],
    ['single-quoted strings', "{'batch': []}"],
    ['a trailing comma', '{"batch": [],}'],
    ['a NaN literal', '{"batch": [{"type": "track", "event": "x", "anonymousId": "a", "properties": {"revenue": NaN}}]}'],
    ['an Infinity literal', '{"batch": [{"type": "track", "event": "x", "anonymousId": "a", "properties": {"revenue": Infinity}}]}'],
    ['two JSON documents', '{"batch": []}{"batch": []}'],
    ['a byte-order mark before the JSON', `\uFEFF${JSON.stringify({ batch: [] })}`],
    ['XML', '<batch><event type="track"/></batch>'],
    ['a raw control character inside a string', '{"batch": [{"type": "track", "event": "a\u0001b", "anonymousId": "a"}]}'],
  ] as const) {
    post(`malformed JSON: ${name}`, bytes(text), refusedBy(400, 'bad_json'));
  }

  // ---- bodies that are JSON but not a batch ------------------------------------------------------
  for (const [name, text] of [
    ['a top-level array', '[{"type": "track"}]'],
    ['a top-level string', '"batch"'],
    ['a top-level number', '42'],
    ['a top-level null', 'null'],
    ['a top-level boolean', 'true'],
    ['an empty object', '{}'],
    ['batch as a string', '{"batch": "events"}'],
    ['batch as an object', '{"batch": {"0": {"type": "track"}}}'],
    ['batch as null', '{"batch": null}'],
    ['batch as a number', '{"batch": 1e999}'],
  ] as const) {
    post(`not a batch: ${name}`, bytes(text), refusedBy(400, 'invalid_body'));
  }

  // ---- wrong types for every field: one wrong field per event, good events around them -----------
  {
    const goods = [good(), good(), good()];
    const wrong: Array<[string, Record<string, unknown>, RegExp]> = [
      ['type as a number', { type: 5 }, /type/],
      ['unknown type', { type: 'purchase' }, /type/],
      ['type missing', { type: undefined }, /type/],
      ['event as a number', { event: 123 }, /event/],
      ['event empty', { event: '' }, /event is required/],
      ['event as an object', { event: { name: 'x' } }, /event/],
      ['userId as an object (no anonymousId)', { userId: {}, anonymousId: undefined }, /userId/],
      ['anonymousId as an array', { anonymousId: ['a'] }, /anonymousId/],
      ['anonymousId as a boolean', { anonymousId: true }, /anonymousId/],
      ['messageId as a boolean', { messageId: true }, /messageId/],
      ['messageId as an object', { messageId: { id: 1 } }, /messageId/],
      ['properties as a string', { properties: 'revenue=5' }, /properties/],
      ['properties as an array', { properties: [1, 2] }, /properties/],
      ['properties as a number', { properties: 7 }, /properties/],
      ['context as a number', { context: 5 }, /context/],
      ['context as an array', { context: [] }, /context/],
      ['integrations as a string', { integrations: 'all' }, /integrations/],
      ['timestamp as epoch milliseconds', { timestamp: 1714567890000 }, /timestamp/],
      ['timestamp as words', { timestamp: 'yesterday' }, /timestamp/],
      ['timestamp as an impossible date', { timestamp: '2024-02-30T00:00:00Z' }, /timestamp/],
      ['timestamp without a zone', { timestamp: '2024-05-01T12:00:00' }, /timestamp/],
      ['originalTimestamp as an object', { originalTimestamp: {} }, /originalTimestamp/],
      ['sentAt as a boolean', { sentAt: false }, /sentAt/],
      ['page name as a number', { type: 'page', name: 5 }, /name/],
      ['screen category as an array', { type: 'screen', category: ['x'] }, /category/],
      ['identify traits as a string', { type: 'identify', traits: 'vip' }, /traits/],
      ['group groupId as an object', { type: 'group', groupId: {} }, /groupId/],
      ['group without groupId', { type: 'group' }, /groupId is required/],
      ['alias previousId as an object', { type: 'alias', userId: 'u-1', previousId: {} }, /previousId/],
      ['alias without userId', { type: 'alias', previousId: 'p-1' }, /userId is required/],
    ];
    const refused: Refusal[] = [];
    const events: unknown[] = [goods[0]!.event];
    for (const [label, over, reason] of wrong) {
      const probe = id(label.replaceAll(' ', '-'));
      const event = track(probe, over);
      for (const [k, v] of Object.entries(event)) if (v === undefined) delete event[k];
      events.push(event);
      refused.push({ probe, reason });
    }
    events.push(goods[1]!.event);
    // Events that are not objects at all; the string one is its own probe.
    const stringEvent = id('string-event');
    events.push(42, stringEvent, null, true, [track(id('array-event'))]);
    refused.push({ probe: stringEvent, reason: /event must be a JSON object/ });
    events.push(goods[2]!.event);
    post('a wrong type in every field, one per event, among good events', bytes({ batch: events }), {
      status: 200,
      accepted: goods.map((g) => g.accepted),
      refused,
      unprobedRefusals: 4,
    });
  }

  // ---- wrong types at the batch level ------------------------------------------------------------
  {
    const probes = [id('ctx-a'), id('ctx-b')];
    post('batch context as a number refuses every event of the batch', bytes({ batch: probes.map((p) => track(p)), context: 5 }), {
      status: 200,
      accepted: [],
      refused: probes.map((probe) => ({ probe, reason: /batch context must be a JSON object/ })),
    });
    const sentAt = [id('sentat-a')];
    post('batch sentAt as a word refuses events without their own', bytes({ batch: sentAt.map((p) => track(p)), sentAt: 'now' }), {
      status: 200,
      accepted: [],
      refused: sentAt.map((probe) => ({ probe, reason: /sentAt/ })),
    });
    const g = good();
    post('writeKey in the body as a number, no header', bytes({ batch: [g.event], writeKey: 5 }), refusedBy(401, 'unauthorized'), { 'content-type': 'application/json' });
  }

  // ---- single-event endpoints: a bad event is a 400 AND a dead letter ----------------------------
  for (const [path, label, over, reason] of [
    ['/v1/track', 'event as a number', { event: 5 }, /event/],
    ['/v1/t', 'no identity', { anonymousId: null }, /userId or anonymousId is required/],
    ['/v1/identify', 'traits as a string', { traits: 'x' }, /traits/],
    ['/v1/group', 'no groupId', {}, /groupId is required/],
    ['/v1/alias', 'no previousId', { userId: 'u-1' }, /previousId is required/],
    ['/v1/page', 'name as a number', { name: 5 }, /name/],
  ] as const) {
    const probe = id(`single-${label.replaceAll(' ', '-')}`);
    post(`${path} with ${label}`, bytes(track(probe, over)), { status: 400, code: 'invalid_event', deadLettered: [{ probe, reason }] }, json, path);
  }
  post('/v1/track with an array body', bytes([track(id('single-array'))]), refusedBy(400, 'invalid_body'), json, '/v1/track');
  post('/v1/track with a string body', bytes('"track"'), refusedBy(400, 'invalid_body'), json, '/v1/track');

  // ---- huge strings around the 32 KB event limit -------------------------------------------------
  {
    const g = good();
    const padTo = (probe: string, target: number) => {
      const event = track(probe, { properties: { blob: '' } });
      const overhead = Buffer.byteLength(JSON.stringify(event));
      (event.properties as Record<string, string>).blob = 'x'.repeat(target - overhead);
      return event;
    };
    const atLimit = id('at-32k');
    const justOver = id('just-over-32k');
    const farOver = id('far-over-300k');
    post('events at, just over and far over the 32 KB limit', bytes({ batch: [g.event, padTo(atLimit, MAX_EVENT_BYTES), padTo(justOver, MAX_EVENT_BYTES + 1), padTo(farOver, 300 * KB)] }), {
      status: 200,
      accepted: [g.accepted, { probe: atLimit, messageId: atLimit }],
      refused: [
        { probe: justOver, reason: /32769 bytes; the limit is 32768/ },
        { probe: farOver, reason: /the limit is 32768 bytes/ },
      ],
    });
    const single = id('single-over-32k');
    post('/v1/track with a 40 KB event', bytes(padTo(single, 40 * KB)), { status: 400, code: 'event_too_large', deadLettered: [{ probe: single, reason: /limit is 32768/ }] }, json, '/v1/track');
    const key = id('huge-key');
    post('a 20 KB property name', bytes({ batch: [track(key, { properties: { ['k'.repeat(20 * KB)]: 1 } })] }), { status: 200, accepted: [{ probe: key, messageId: key }], refused: [] });
    // Numbers in exponent form grow when re-serialized: "1e20" is 100000000000000000000 in a dead letter.
    const numbers = id('exponent-numbers-450k');
    post('450 KB of 1e20 numbers (5x longer when re-serialized)', bytes(JSON.stringify(track(numbers, { properties: { n: ['@N@'] } })).replace('"@N@"', Array(90_000).fill('1e20').join(',')).replace(/^/, '{"batch":[').replace(/$/, ']}')), {
      status: 200,
      accepted: [],
      refused: [{ probe: numbers, reason: /the limit is 32768 bytes; payload truncated/ }],
    });
    // Each event is under 32 KB, but its URL is stored again as path, utm_* and in properties:
    // one user's touchpoints of one request add up to well over Kafka's 1 MB batch limit.
    const urlHeavy = Array.from({ length: 18 }, (_, i) => id(`url-heavy-${i}`));
    const url = `https://hostile.example/${'p'.repeat(10 * KB)}?utm_source=${'s'.repeat(5 * KB)}&utm_medium=${'m'.repeat(5 * KB)}&utm_campaign=${'c'.repeat(5 * KB)}`;
    post('18 events of 26 KB for one user, each URL stored four times over', bytes({ batch: urlHeavy.map((probe) => track(probe, { anonymousId: `one-user-${runId}`, properties: { url } })) }), {
      status: 200,
      accepted: urlHeavy.map((probe) => ({ probe, messageId: probe, fields: { url, utmSource: 's'.repeat(5 * KB) } })),
      refused: [],
    });
    // Invalid UTF-8 bytes decode to U+FFFD (3 bytes each), so a 400 KB body can make a 1.2 MB dead letter.
    const amplified = id('invalid-utf8-400k');
    const head = Buffer.from(JSON.stringify({ batch: [track(amplified, { properties: { blob: '@@' } })] }));
    const at = head.indexOf('@@');
    post('a 400 KB string of invalid UTF-8 bytes (triples when decoded)', Buffer.concat([head.subarray(0, at), Buffer.alloc(400 * KB, 0xff), head.subarray(at + 2)]), {
      status: 200,
      accepted: [],
      refused: [{ probe: amplified, reason: /the limit is 32768 bytes; payload truncated to its first \d+ of \d+ bytes/ }],
    });
  }

  {
    // The same, as the userId: the dead letter's Kafka key is the event's identity.
    const hugeId = id('invalid-utf8-user-id');
    const head = Buffer.from(JSON.stringify({ batch: [track(hugeId, { userId: '@@' })] }));
    const at = head.indexOf('@@');
    post('a 400 KB userId of invalid UTF-8 bytes', Buffer.concat([head.subarray(0, at), Buffer.alloc(400 * KB, 0xfe), head.subarray(at + 2)]), {
      status: 200,
      accepted: [],
      refused: [{ probe: hugeId, reason: /the limit is 32768 bytes.*payload truncated/ }],
    });
  }

  // ---- deep nesting ------------------------------------------------------------------------------
  {
    const g = good();
    const deep = id('deep-1000');
    const deepEvent = JSON.stringify(track(deep)).replace(/}$/, `,"properties":${nested(1_000, '{}', '{"a":', '}')}}`);
    post('an event nesting 1,000 levels deep', bytes(`{"batch":[${JSON.stringify(g.event)},${deepEvent}]}`), {
      status: 200,
      accepted: [g.accepted],
      refused: [{ probe: deep, reason: /nests deeper than 64 levels/ }],
    });
    const ctx = id('deep-context');
    post('a batch context nesting 1,000 levels deep', bytes(`{"batch":[${JSON.stringify(track(ctx))}],"context":${nested(1_000, '1', '{"a":', '}')}}`), {
      status: 200,
      accepted: [],
      refused: [{ probe: ctx, reason: /batch context nests deeper/ }],
    });
    const deepest = id('deep-100000');
    const deepestEvent = JSON.stringify(track(deepest)).replace(/}$/, `,"properties":{"x":${nested(100_000, '0', '[', ']')}}}`);
    post('an event nesting 100,000 levels deep', bytes(`{"batch":[${deepestEvent}]}`), {
      status: 200,
      accepted: [],
      refused: [{ probe: deepest, reason: /nests deeper than 64 levels/ }],
    });
    post('a body of 1,000 nested arrays', bytes(nested(1_000, '0', '[', ']')), refusedBy(400, 'invalid_body'));
    post('a body of 100,000 nested arrays', bytes(nested(100_000, '0', '[', ']')), refusedBy(400, 'invalid_body'));
    const singleDeep = id('single-deep');
    post('a /v1/track body nesting 1,000 levels deep', bytes(JSON.stringify(track(singleDeep)).replace(/}$/, `,"context":${nested(1_000, '1', '{"a":', '}')}}`)), {
      status: 400,
      code: 'invalid_event',
      deadLettered: [{ probe: singleDeep, reason: /nests deeper than 64 levels/ }],
    }, json, '/v1/track');
    // With a literal __proto__ in the body the parser's key filter (a recursive reviver) runs out of stack.
    post('100,000 levels deep with a __proto__ key', bytes(`{"batch":[${deepestEvent.replace(/}$/, ',"__proto__":{}}')}]}`), refusedBy(400, 'bad_json'));
  }

  // ---- oversized bodies --------------------------------------------------------------------------
  {
    const over = Buffer.from(JSON.stringify({ batch: [], padding: 'x'.repeat(MAX_REQUEST_BYTES) }));
    post('a 500 KB+ body with its Content-Length', over, refusedBy(400, 'request_too_large'));
    post('a 500 KB+ body sent chunked (no Content-Length)', chunked(over), refusedBy(400, 'request_too_large'));
    post('a 10 GB Content-Length (never sent)', neverEnding(Buffer.from('{"batch":[')), refusedBy(400, 'request_too_large'), { ...json, 'content-length': String(10 * 1024 * MB) });
    const compressible = Buffer.from(JSON.stringify({ batch: Array.from({ length: 5_000 }, (_, i) => track(`${runId}-zip-${i}`)) }));
    post(`a ${Math.round(compressible.length / KB)} KB body gzipped to ${Math.round(gzipSync(compressible).length / KB)} KB (over the limit only after decompression)`, gzipSync(compressible), refusedBy(400, 'request_too_large'), { ...json, 'content-encoding': 'gzip' });
    post('a gzip bomb: 1 GB of zeros, compressed while streaming', streamedGzipBomb(1024 * MB), refusedBy(400, 'request_too_large'), { ...json, 'content-encoding': 'gzip' });
    entries.push({
      name: 'a gzip bomb under the wire limit: ~400 KB with its Content-Length, inflating to 400 MB',
      method: 'POST',
      path: '/v1/batch',
      headers: { ...json, 'content-encoding': 'gzip' },
      get body() {
        return bombUnderWireLimit();
      },
      expect: refusedBy(400, 'request_too_large'),
    });
    post('a deflate bomb: 256 MB of zeros, streamed', streamedGzipBomb(256 * MB, 'deflate'), refusedBy(400, 'request_too_large'), { ...json, 'content-encoding': 'deflate' });
    post('gzip data labelled deflate', gzipSync(bytes({ batch: [] })), refusedBy(400, 'bad_encoding'), { ...json, 'content-encoding': 'deflate' });
  }

  // ---- corrupt and unsupported encodings ---------------------------------------------------------
  {
    const zipped = gzipSync(bytes({ batch: [track(id('corrupt'))] }));
    const flipped = Buffer.from(zipped);
    for (let i = 10; i < flipped.length - 8; i += 3) flipped[i] = flipped[i]! ^ 0x5a;
    const gz = { ...json, 'content-encoding': 'gzip' };
    post('gzip with its deflate data scrambled', flipped, refusedBy(400, 'bad_encoding'), gz);
    post('gzip cut in the middle', zipped.subarray(0, Math.floor(zipped.length / 2)), refusedBy(400, 'bad_encoding'), gz);
    post('gzip with a wrong CRC', Buffer.concat([zipped.subarray(0, zipped.length - 8), Buffer.from([1, 2, 3, 4]), zipped.subarray(zipped.length - 4)]), refusedBy(400, 'bad_encoding'), gz);
    post('plain JSON labelled gzip', bytes({ batch: [] }), refusedBy(400, 'bad_encoding'), gz);
    post('random bytes labelled gzip', Buffer.from(Array.from({ length: 4 * KB }, (_, i) => (i * 7919) % 256)), refusedBy(400, 'bad_encoding'), gz);
    post('Content-Encoding: br', bytes({ batch: [] }), refusedBy(400, 'bad_encoding'), { ...json, 'content-encoding': 'br' });
    post('Content-Encoding: gzip, gzip', gzipSync(gzipSync(bytes({ batch: [] }))), refusedBy(400, 'bad_encoding'), { ...json, 'content-encoding': 'gzip, gzip' });
  }

  // ---- invalid UTF-8 (decoded leniently: every invalid sequence becomes U+FFFD) --------------------
  {
    const probes = [id('utf8-value'), id('utf8-key'), id('utf8-overlong'), id('lone-surrogate')];
    const template = JSON.stringify({
      batch: [
        track(probes[0]!, { event: 'bad@@1' }),
        track(probes[1]!, { properties: { 'k@@2': 1 } }),
        track(probes[2]!, { properties: { v: '@@3' } }),
        track(probes[3]!, { event: 'lone-surrogate' }),
      ],
    }).replace('"lone-surrogate"', '"x\\ud800y"');
    let body = Buffer.from(template);
    const swap = (marker: string, raw: number[]) => {
      const at = body.indexOf(marker);
      body = Buffer.concat([body.subarray(0, at), Buffer.from(raw), body.subarray(at + marker.length)]);
    };
    swap('@@1', [0xff, 0xfe, 0xfd]);
    swap('@@2', [0xc3]);
    swap('@@3', [0xc0, 0xaf, 0xed, 0xa0, 0x80]);
    post('invalid UTF-8 bytes in values and keys, overlong forms, a lone surrogate', body, {
      status: 200,
      accepted: [
        { probe: probes[0]!, messageId: probes[0]!, fields: { event: 'bad\uFFFD\uFFFD\uFFFD' } },
        { probe: probes[1]!, messageId: probes[1]! },
        { probe: probes[2]!, messageId: probes[2]! },
        // The lone surrogate cannot be stored as UTF-8; it reads back as replacement characters.
        { probe: probes[3]!, messageId: probes[3]!, fields: { event: /^x\uFFFD+y$/ } },
      ],
      refused: [],
    });
  }

  // ---- unknown fields ----------------------------------------------------------------------------
  {
    const probe = id('unknown-fields');
    post('unknown top-level, property and odd-named fields', bytes({ batch: [track(probe, { foo: 'bar', '': 1, 'a.b': 2, $set: { x: 1 }, properties: { bar: [1, { baz: null }] } })], extra: true }), {
      status: 200,
      accepted: [{ probe, messageId: probe }],
      refused: [],
    });
  }

  // ---- missing ids -------------------------------------------------------------------------------
  {
    const noMessageId = id('no-message-id');
    const noIdentity = id('no-identity');
    const emptyIds = id('empty-ids');
    const nullIds = id('null-ids');
    post('no messageId; no identity; empty and null ids', bytes({
      batch: [
        track(noMessageId, { messageId: undefined }),
        track(noIdentity, { anonymousId: undefined }),
        track(emptyIds, { anonymousId: '', userId: '' }),
        track(nullIds, { anonymousId: null, userId: null }),
      ],
    }), {
      status: 200,
      accepted: [{ probe: noMessageId, messageId: null }],
      refused: [
        { probe: noIdentity, reason: /userId or anonymousId is required/ },
        { probe: emptyIds, reason: /userId or anonymousId is required/ },
        { probe: nullIds, reason: /userId or anonymousId is required/ },
      ],
    });
  }

  // ---- timestamps far in the past and the future -------------------------------------------------
  {
    const now = new Date().toISOString();
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['epoch zero', { timestamp: '1970-01-01T00:00:00Z' }, /before 2000-01-01/],
      ['year 1', { timestamp: '0001-01-01T00:00:00Z' }, /before 2000-01-01/],
      ['year 9999', { timestamp: '9999-12-31T23:59:59Z' }, /more than 30 days after/],
      ['extended year +275760', { timestamp: '+275760-09-13T00:00:00Z' }, /timestamp/],
      ['sentAt 50 years ahead of the event', { originalTimestamp: now, sentAt: '2076-01-01T00:00:00Z' }, /before 2000-01-01/],
      ['originalTimestamp in 1900 with sentAt now', { originalTimestamp: '1900-01-01T00:00:00Z', sentAt: now }, /before 2000-01-01/],
      ['timestamp as 1e999', { timestamp: 1e999 }, /timestamp/],
    ];
    const refused: Refusal[] = [];
    const events = cases.map(([label, over, reason]) => {
      const probe = id(label.replaceAll(' ', '-'));
      refused.push({ probe, reason });
      return JSON.stringify(track(probe, over)).replace('"timestamp":null', '"timestamp":1e999');
    });
    const g = good();
    post('timestamps far in the past and the future', bytes(`{"batch":[${[JSON.stringify(g.event), ...events].join(',')}]}`), { status: 200, accepted: [g.accepted], refused });
  }

  // ---- NaN / Infinity-like values ----------------------------------------------------------------
  {
    const probes = [id('revenue-1e999'), id('revenue-minus-1e999'), id('revenue-NaN'), id('revenue-Infinity'), id('userid-1e999'), id('messageid-1e999')];
    const text = JSON.stringify({
      batch: [
        track(probes[0]!, { properties: { revenue: '@INF@' } }),
        track(probes[1]!, { properties: { revenue: '@NINF@' } }),
        track(probes[2]!, { properties: { revenue: 'NaN' } }),
        track(probes[3]!, { properties: { total: 'Infinity' } }),
        track(probes[4]!, { userId: '@INF@' }),
        track(probes[5]!, { messageId: '@INF@' }),
      ],
    })
      .replaceAll('"@INF@"', '1e999')
      .replace('"@NINF@"', '-1e999');
    post('numbers that overflow to ±Infinity and NaN-like strings', bytes(text), {
      status: 200,
      accepted: [
        { probe: probes[0]!, messageId: probes[0]!, fields: { revenue: null } },
        { probe: probes[1]!, messageId: probes[1]!, fields: { revenue: null } },
        { probe: probes[2]!, messageId: probes[2]!, fields: { revenue: null } },
        { probe: probes[3]!, messageId: probes[3]!, fields: { revenue: null } },
      ],
      // Numeric ids are stored as strings, but only finite ones: "Infinity" would be one id for every overflow.
      refused: [
        { probe: probes[4]!, reason: /userId must be a string/ },
        { probe: probes[5]!, reason: /messageId must be a string/ },
      ],
    });
  }

  // ---- prototype pollution -----------------------------------------------------------------------
  {
    const probes = [id('proto-top'), id('proto-props'), id('proto-context'), id('constructor')];
    const text = JSON.stringify({
      batch: [
        { ...track(probes[0]!), ['@PROTO@']: { polluted: 'top', userId: 'hijacked' } },
        track(probes[1]!, { properties: { ['@PROTO@']: { polluted: 'props' }, ok: 1 } }),
        track(probes[2]!, { context: { ['@PROTO@']: { polluted: 'context' }, page: { ['@PROTO@']: { url: 'https://evil.example' } } } }),
        track(probes[3]!, { constructor: { prototype: { polluted: 'constructor' } }, properties: { constructor: { prototype: { polluted: 1 } }, hasOwnProperty: 'x', toString: 'y' } }),
      ],
      context: { ['@PROTO@']: { polluted: 'batch-context' }, library: { name: 'hostile' } },
    }).replaceAll('"@PROTO@"', '"__proto__"');
    post('__proto__ and constructor keys at every level', bytes(text), {
      status: 200,
      // The __proto__ object's userId must not become the event's.
      accepted: probes.map((probe) => ({ probe, messageId: probe, fields: { userId: null } })),
      refused: [],
    });
    // JSON escapes spell the same key without the text "__proto__" anywhere in the body.
    const escaped = [id('proto-escaped-top'), id('proto-escaped-props'), id('proto-escaped-context')];
    const escapedText = JSON.stringify({
      batch: [
        { ...track(escaped[0]!), ['@PROTO@']: { polluted: 'escaped', properties: { injected: true }, userId: 'hijacked' } },
        track(escaped[1]!, { properties: { ['@PROTO@']: { polluted: 'escaped-props' } } }),
        track(escaped[2]!, { context: { ['@PROTO@']: { polluted: 'escaped-context' } } }),
      ],
      context: { ['@PROTO@']: { polluted: 'escaped-batch-context' } },
    }).replaceAll('"@PROTO@"', '"\\u005f\\u005fproto\\u005f\\u005f"');
    post('__proto__ keys spelled with JSON escapes', bytes(escapedText), {
      status: 200,
      accepted: escaped.map((probe) => ({ probe, messageId: probe, fields: { userId: null } })),
      refused: [],
    });
    post('a write key only on __proto__', bytes(`{"batch":[${JSON.stringify(good().event)}],"__proto__":{"writeKey":${JSON.stringify(writeKey)}}}`), refusedBy(401, 'unauthorized'), {
      'content-type': 'application/json',
    });
    post('a write key only on an escaped __proto__', bytes(`{"batch":[${JSON.stringify(good().event)}],"\\u005f_proto__":{"writeKey":${JSON.stringify(writeKey)}}}`), refusedBy(401, 'unauthorized'), {
      'content-type': 'application/json',
    });
  }

  // ---- batch size around 2,500 events ------------------------------------------------------------
  {
    const small = (probe: string) => ({ type: 'track', event: 'e', anonymousId: `anon-${probe}`, messageId: probe, probe });
    const full = Array.from({ length: MAX_BATCH_EVENTS }, (_, i) => `${runId}-full-${i}`);
    post(`a batch of exactly ${MAX_BATCH_EVENTS} events`, bytes({ batch: full.map(small) }), {
      status: 200,
      accepted: full.map((probe) => ({ probe, messageId: probe })),
      refused: [],
    });
    post(`a batch of ${MAX_BATCH_EVENTS + 1} events`, bytes({ batch: Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => small(`${runId}-over-${i}`)) }), refusedBy(400, 'too_many_events'));
  }

  // ---- empty bodies and content types ------------------------------------------------------------
  {
    post('an empty body labelled JSON', Buffer.alloc(0), refusedBy(400, 'bad_json'));
    post('an empty body with no Content-Type', Buffer.alloc(0), refusedBy(400, 'invalid_body'), { ...auth });
    post('whitespace only', bytes('  \n\t '), refusedBy(400, 'bad_json'));
    const a = good();
    post('JSON without a Content-Type', bytes({ batch: [a.event] }), { status: 200, accepted: [a.accepted], refused: [] }, { ...auth });
    const b = good();
    post('JSON labelled application/xml', bytes({ batch: [b.event] }), { status: 200, accepted: [b.accepted], refused: [] }, { ...auth, 'content-type': 'application/xml' });
    post('a form labelled multipart/form-data', bytes('--x\r\nContent-Disposition: form-data; name="batch"\r\n\r\n[]\r\n--x--\r\n'), refusedBy(400, 'bad_json'), { ...auth, 'content-type': 'multipart/form-data; boundary=x' });
    post('a urlencoded form', bytes('batch=%5B%5D&writeKey=x'), refusedBy(400, 'bad_json'), { ...auth, 'content-type': 'application/x-www-form-urlencoded' });
    post('UTF-16 JSON', Buffer.from(JSON.stringify({ batch: [] }), 'utf16le'), refusedBy(400, 'bad_json'), { ...auth, 'content-type': 'application/json; charset=utf-16' });
    post('a garbage Content-Type', bytes({ batch: [] }), refusedBy(400, 'invalid_body'), { ...auth, 'content-type': ';;;/=\\"x' });
  }

  // ---- wrong methods and paths -------------------------------------------------------------------
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
    entries.push({ name: `${method} /v1/batch`, method, path: '/v1/batch', headers: auth, body: method === 'GET' ? undefined : bytes({ batch: [good().event] }), expect: refusedBy(404, 'not_found') });
  }
  // Fastify parses a body before it knows no route matches; an empty JSON body fails that parse first.
  entries.push({ name: 'DELETE /v1/batch with an empty JSON body', method: 'DELETE', path: '/v1/batch', headers: json, expect: refusedBy(400, 'invalid_body') });
  post('an unknown path', bytes({ batch: [] }), refusedBy(404, 'not_found'), json, '/v1/purchase');
  post('a traversal path', bytes({ batch: [] }), refusedBy(404, 'not_found'), json, '/v1/../../etc/passwd');
  post('a path with a NUL byte', bytes({ batch: [] }), refusedBy(404, 'not_found'), json, '/v1/batch%00');

  // ---- bad and missing write keys ----------------------------------------------------------------
  {
    const body = () => bytes({ batch: [good().event] });
    const ct = { 'content-type': 'application/json' };
    post('no write key at all', body(), refusedBy(401, 'unauthorized'), ct);
    post('an unknown write key', body(), refusedBy(401, 'unauthorized'), { ...ct, authorization: basicAuth('wk_not_a_key') });
    post('an empty Basic username', body(), refusedBy(401, 'unauthorized'), { ...ct, authorization: basicAuth('') });
    post('Basic with non-base64 garbage', body(), refusedBy(401, 'unauthorized'), { ...ct, authorization: 'Basic !!!***' });
    post('a Bearer token', body(), refusedBy(401, 'unauthorized'), { ...ct, authorization: `Bearer ${writeKey}` });
    post('an 8 KB write key', body(), refusedBy(401, 'unauthorized'), { ...ct, authorization: basicAuth('k'.repeat(8 * KB)) });
    post('a SQL-injection write key', body(), refusedBy(401, 'unauthorized'), { ...ct, authorization: basicAuth("' OR 1=1; --") });
    post('an unknown header key with a valid body key', bytes({ batch: [good().event], writeKey }), refusedBy(401, 'unauthorized'), { ...ct, authorization: basicAuth('wk_not_a_key') });
    post('a write key in the body as an object', bytes({ batch: [good().event], writeKey: { $ne: null } }), refusedBy(401, 'unauthorized'), ct);
    post('a browser Origin the key does not allow', body(), refusedBy(403, 'origin_denied'), { ...json, origin: 'https://evil.example' });
    post('an unknown key with a 10 GB gzip body (refused before the body is read)', streamedGzipBomb(10 * 1024 * MB), refusedBy(401, 'unauthorized'), {
      ...ct,
      'content-encoding': 'gzip',
      authorization: basicAuth('wk_not_a_key'),
    });
  }

  return entries;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Sends one request over a fresh connection with node:http, so raw bytes, lying Content-Lengths
 * and streamed bodies reach the server as written. Stops uploading as soon as the answer arrives
 * (a server that refuses early must not make the client push a gigabyte).
 */
export function sendRaw(baseUrl: string, r: Pick<HostileRequest, 'method' | 'path' | 'headers' | 'body'>, timeoutMs = 60_000): Promise<HttpAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let source: Readable | undefined;
    let answered = false;
    const headers: Record<string, string> = { ...r.headers };
    if (Buffer.isBuffer(r.body) && headers['content-length'] === undefined) headers['content-length'] = String(r.body.length);
    const req = httpRequest({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent: false }, (res) => {
      answered = true;
      source?.unpipe(req);
      source?.destroy();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        req.destroy();
      });
      res.on('error', (error) => reject(error));
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (error) => {
      // Writing into a connection the server closed after answering is not a failure of the answer.
      if (!answered) {
        clearTimeout(timer);
        reject(error);
      }
    });
    if (r.body === undefined) req.end();
    else if (Buffer.isBuffer(r.body)) req.end(r.body);
    else {
      source = r.body();
      source.on('error', () => req.destroy());
      source.pipe(req);
    }
  });
}

/**
 * Sends like an SDK: a 503 (the broker is restarting, the collector sheds load) is retried after its
 * Retry-After, a few times. `retried` says whether any attempt was answered 503, since the events of
 * a request that timed out may still have reached Kafka (duplicates that messageIds dedupe).
 */
export async function sendRetrying(baseUrl: string, r: Pick<HostileRequest, 'method' | 'path' | 'headers' | 'body'>, attempts = 6): Promise<HttpAnswer & { retried: boolean }> {
  let retried = false;
  for (let attempt = 1; ; attempt++) {
    const answer = await sendRaw(baseUrl, r);
    if (answer.status !== 503 || attempt === attempts) return { ...answer, retried };
    retried = true;
    const wait = Math.min(5, Number(answer.headers['retry-after'] ?? 1) || 1);
    await new Promise((resolve) => setTimeout(resolve, wait * 1_000));
  }
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

/** A full GC: `global.gc` when node runs with --expose-gc, else exposed at runtime through V8 flags. */
export function fullGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return () => {};
  }
}

/** JS heap plus Buffers and other memory outside it (where inflated bodies would live). */
export const usedBytes = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

/**
 * Samples `usedBytes()` every few ms from now until `stop()`: the peak catches what a request holds
 * for a moment (an inflated bomb) even if it is freed before anyone measures after the fact.
 */
export function memorySampler(everyMs = 5): { stop(): { peak: number; baseline: number } } {
  const baseline = usedBytes();
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, usedBytes())), everyMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, usedBytes());
      return { peak, baseline };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Query API
// ---------------------------------------------------------------------------------------------

/**
 * Values a query parameter must survive: injection attempts, placeholders of ClickHouse's own
 * parameter syntax, quoting tricks, absurd sizes and numbers. Sent one at a time in every parameter.
 */
export const INJECTION_VALUES: ReadonlyArray<{ name: string; value: string | string[] }> = [
  { name: 'a statement terminator and DROP', value: "'; DROP TABLE x; --" },
  { name: 'a DROP DATABASE', value: "shop'); DROP DATABASE IF EXISTS default; --" },
  { name: 'a tautology', value: '1 OR 1=1' },
  { name: "a quoted tautology", value: "' OR '1'='1" },
  { name: 'an escaped quote', value: "\\'" },
  { name: 'a lone backslash', value: '\\' },
  { name: 'a trailing backslash', value: 'shop\\' },
  { name: 'unicode quotes', value: '\u2018; DROP TABLE x; --\u2019 \u201Cx\u201D \uFF07' },
  { name: 'a ClickHouse placeholder', value: '{name:String}' },
  { name: 'the database placeholder', value: '{db}' },
  { name: 'an Identifier placeholder', value: '{db:Identifier}.touchpoints' },
  { name: 'a UNION SELECT', value: "x' UNION ALL SELECT name FROM system.tables --" },
  { name: 'a comment opener', value: '/* x' },
  { name: 'a tab and newline', value: 'a\tb\nc\r\n' },
  { name: 'a NUL byte', value: 'a\u0000b' },
  { name: 'a TSV null marker', value: '\\N' },
  { name: 'a format clause', value: 'x FORMAT Native' },
  { name: 'a SETTINGS clause', value: "x' SETTINGS readonly=0 --" },
  { name: 'a function call', value: "file('/etc/passwd')" },
  { name: 'an empty value', value: '' },
  { name: 'a very long value (8,000 chars)', value: "'".repeat(4_000) + 'x'.repeat(4_000) },
  { name: 'an array where a scalar is expected', value: ['shop', "'; DROP TABLE x; --"] },
  { name: 'an invalid date', value: '2026-02-30T00:00:00Z' },
  { name: 'a date with SQL after it', value: "2026-03-01T00:00:00Z' OR '1'='1" },
  { name: 'epoch seconds instead of milliseconds', value: '1772625600' },
  { name: 'a huge number', value: '99999999999999999999999999999' },
  { name: 'a negative number', value: '-1' },
  { name: 'a float', value: '1.5' },
  { name: 'a hex number', value: '0x10' },
  { name: 'an exponent', value: '1e3' },
  { name: 'Infinity', value: 'Infinity' },
  { name: 'NaN', value: 'NaN' },
];

/** Whole requests of each endpoint that are wrong as a combination rather than per value. */
export const QUERY_COMBINATIONS: ReadonlyArray<{ name: string; query: string; param: string }> = [
  { name: 'from after to', query: 'from=2026-03-04T00:00:00Z&to=2026-03-01T00:00:00Z', param: 'from' },
  { name: 'from equal to to', query: 'from=2026-03-04T00:00:00Z&to=2026-03-04T00:00:00Z', param: 'from' },
  { name: 'a window of 1,000 years', query: 'from=2000-01-01T00:00:00Z&to=2099-12-31T00:00:00Z', param: 'from' },
  { name: 'an unknown parameter', query: "evil='; DROP TABLE x; --", param: 'evil' },
  { name: 'a prototype-pollution parameter', query: '__proto__[x]=1', param: '__proto__' },
];
