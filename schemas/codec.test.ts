import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { AVRO_SCHEMA_DIR, codecFor, codecFromTypes, encodeAvro, SchemaDecodeError } from './codec.js';
import { Touchpoint } from './touchpoint.js';
import { makeTouchpoint } from './test-touchpoint.js';
import { AttributionCredit, JourneyRecord, SESSION_UID_UNKNOWN, SessionRecord } from './journey.js';
import { topicCodecs } from './topics.js';

const v1Schema = JSON.parse(readFileSync(join(AVRO_SCHEMA_DIR, 'touchpoint.v1.avsc'), 'utf8'));
const v2Schema = JSON.parse(readFileSync(join(import.meta.dirname, '../tests/fixtures/avro/touchpoint.v2.avsc'), 'utf8'));
const v1 = avro.Type.forSchema(v1Schema);
const v2 = avro.Type.forSchema(v2Schema);
const types = new Map([
  [1, v1],
  [2, v2],
]);

describe('touchpoint schema evolution', () => {
  it('a v2 reader (added optional field) reads v1 data, with the default for the new field', () => {
    const writerV1 = codecFromTypes<Touchpoint>('touchpoint', new Map([[1, v1]]), 1);
    const readerV2 = codecFromTypes<Touchpoint & { consentCategories: string[] | null }>('touchpoint', types, 2);
    const tp = makeTouchpoint({ userId: 'u1' });
    const read = readerV2.decode(writerV1.encode(tp));
    expect(read).toEqual({ ...tp, consentCategories: null });
  });

  it('a v1 reader reads v2 data, ignoring the field it does not know', () => {
    const writerV2 = codecFromTypes<unknown>('touchpoint', new Map([[2, v2]]), 2);
    const readerV1 = codecFromTypes<Touchpoint>('touchpoint', types, 1);
    const tp = makeTouchpoint({ userId: 'u2' });
    const read = readerV1.decode(writerV2.encode({ ...tp, consentCategories: ['analytics'] }));
    expect(read).toEqual(tp);
  });

  it('the Avro schema and the zod type describe the same fields', () => {
    const avroFields = v1Schema.fields.map((f: { name: string }) => f.name).sort();
    // Touchpoint is a refined object: its shape is on the inner schema.
    const zodFields = Object.keys((Touchpoint as unknown as { shape?: object; def?: { in?: { shape: object } } }).shape ?? {}).sort();
    expect(zodFields.length > 0 ? zodFields : Object.keys(makeTouchpoint()).sort()).toEqual(avroFields);
    expect(Touchpoint.safeParse(makeTouchpoint()).success).toBe(true);
  });

  it('rejects bytes that are not a pipeline Avro message with a clear, non-retriable error', () => {
    const codec = codecFor<Touchpoint>('touchpoint');
    expect(() => codec.decode(Buffer.from('{"json":true}'))).toThrow(SchemaDecodeError);
    expect(() => codec.decode(Buffer.from([0, 0, 99, 1, 2]))).toThrow(/unknown writer schema version 99/);
    expect(() => codec.decode(Buffer.from([0, 0, 1, 0xff]))).toThrow(/undecodable/);
  });

  it('round-trips the customer-keyed envelope with its nested touchpoint', () => {
    const codec = topicCodecs.customerTouchpoints();
    const record: JourneyRecord = {
      kind: 'touchpoint',
      customerId: 'u:1',
      touchpoint: { customerId: 'u:1', accountId: null, sessionId: 's1', late: false, touchpoint: makeTouchpoint() },
      mergeInto: null,
      mergedFrom: null,
      state: null,
      source: 3,
      sourceWatermark: 1_700_000_000_123,
      inputOffset: 42,
    };
    expect(codec.decode(codec.encode(record))).toEqual(record);
    const transfer: JourneyRecord = { ...record, kind: 'transfer', touchpoint: null, mergedFrom: 'a:2', state: Buffer.from([1, 2, 3]), source: null, sourceWatermark: null, inputOffset: null };
    expect(codec.decode(codec.encode(transfer))).toEqual(transfer);
  });

  it('journey-record v2 (source watermarks) reads v1 envelopes, and v1 readers read v2 ones', () => {
    // Each version in a registry of its own: both use the same full name.
    const envelope = (file: string) => {
      const registry = {};
      const parse = (name: string) => avro.Type.forSchema(JSON.parse(readFileSync(join(AVRO_SCHEMA_DIR, name), 'utf8')), { registry });
      parse('touchpoint.v1.avsc');
      parse('customer-touchpoint.v1.avsc');
      return parse(file);
    };
    const recordV1 = envelope('journey-record.v1.avsc');
    const recordV2 = envelope('journey-record.v2.avsc');
    const v1Record = { kind: 'merge', customerId: 'a:1', touchpoint: null, mergeInto: 'u:1', mergedFrom: null, state: null };
    const reader = codecFromTypes<JourneyRecord>('journey-record', new Map([[1, recordV1], [2, recordV2]]), 2);
    const writerV1 = codecFromTypes<unknown>('journey-record', new Map([[1, recordV1]]), 1);
    expect(reader.decode(writerV1.encode(v1Record))).toEqual({ ...v1Record, source: null, sourceWatermark: null, inputOffset: null });
    const readerV1 = codecFromTypes<unknown>('journey-record', new Map([[1, recordV1], [2, recordV2]]), 1);
    expect(readerV1.decode(reader.encode({ ...v1Record, kind: 'merge', source: 1, sourceWatermark: 5 } as JourneyRecord))).toEqual(v1Record);
  });
});

describe('journey-record: one Avro envelope, a zod union of kinds', () => {
  const envelopeSchema = JSON.parse(readFileSync(join(AVRO_SCHEMA_DIR, 'journey-record.v2.avsc'), 'utf8'));
  const none = { touchpoint: null, mergeInto: null, mergedFrom: null, state: null };

  it('every kind of the union names exactly the fields of the Avro envelope', () => {
    const avroFields = envelopeSchema.fields.map((f: { name: string }) => f.name).sort();
    for (const option of JourneyRecord.options) expect(Object.keys(option.shape).sort()).toEqual(avroFields);
    expect(JourneyRecord.options.map((o) => o.shape.kind.value).sort()).toEqual(['absorbing', 'forget', 'merge', 'touchpoint', 'transfer', 'watermark']);
  });

  it('the topic codec decodes a v1 envelope (written before absorbing and watermark existed) into its kind', () => {
    const registry = {};
    const parse = (name: string) => avro.Type.forSchema(JSON.parse(readFileSync(join(AVRO_SCHEMA_DIR, name), 'utf8')), { registry });
    parse('touchpoint.v1.avsc');
    parse('customer-touchpoint.v1.avsc');
    const writerV1 = codecFromTypes<unknown>('journey-record', new Map([[1, parse('journey-record.v1.avsc')]]), 1);
    const merge = { ...none, kind: 'merge', customerId: 'a:1', mergeInto: 'u:1' };
    expect(topicCodecs.identifiedTouchpoints().decode(writerV1.encode(merge))).toEqual({ ...merge, source: null, sourceWatermark: null, inputOffset: null });
  });

  it('the topic codec refuses an envelope whose fields do not fit its kind, naming the kind and the field', () => {
    const bare = codecFor<unknown>('journey-record');
    const codec = topicCodecs.customerTouchpoints();
    const refused = (fields: Record<string, unknown>) => () => codec.decode(bare.encode({ ...none, ...fields }));
    expect(refused({ kind: 'touchpoint', customerId: 'u:1' })).toThrow(SchemaDecodeError);
    expect(refused({ kind: 'touchpoint', customerId: 'u:1' })).toThrow(/^journey-record: invalid 'touchpoint' record: touchpoint: /);
    expect(refused({ kind: 'transfer', customerId: 'u:1', mergedFrom: 'u:1' })).toThrow(/mergedFrom: a customer cannot receive its own state/);
    expect(refused({ kind: 'watermark', customerId: 'u:1', source: 0, sourceWatermark: 1 })).toThrow(/invalid 'watermark' record: customerId: /);
    expect(refused({ kind: 'touchpoint', customerId: '', touchpoint: { customerId: '', accountId: null, sessionId: 's', late: false, touchpoint: makeTouchpoint() } })).toThrow(/customerId: /);
    // The nested touchpoint is checked too: Avro types its channel as a string, zod as the enum.
    const ctp = { customerId: 'u:1', accountId: null, sessionId: 's', late: false, touchpoint: makeTouchpoint({ channel: 'fax' as never }) };
    expect(refused({ kind: 'touchpoint', customerId: 'u:1', touchpoint: ctp })).toThrow(/touchpoint\.touchpoint\.channel: /);
  });
});

describe('session schema evolution (v2: the 128-bit sessionUid)', () => {
  const read = (file: string) => JSON.parse(readFileSync(join(AVRO_SCHEMA_DIR, file), 'utf8'));
  const types = new Map([
    [1, avro.Type.forSchema(read('session.v1.avsc'))],
    [2, avro.Type.forSchema(read('session.v2.avsc'))],
  ]);
  const session: SessionRecord = {
    sessionId: 's_0000000000abcd', sessionUid: '0000019b-8d99-6900-0000-00000000abcd', customerId: 'u:1', status: 'updated', version: 3, site: 'shop',
    startedAt: 1_767_607_200_000, endedAt: 1_767_607_260_000, eventCount: 2, channels: ['web'], entryEvent: 'Page Viewed', exitEvent: 'Page Viewed',
    entryUrl: null, exitUrl: null, furthestStage: null, converted: false,
  };
  const { sessionUid: _uid, ...v1Session } = session;

  it('round-trips through the topic codec (v2), and the Avro schema and the zod type describe the same fields', () => {
    const codec = topicCodecs.sessions();
    expect(codec.version).toBe(2);
    expect(codec.decode(codec.encode(session))).toEqual(session);
    expect(read('session.v2.avsc').fields.map((f: { name: string }) => f.name).sort()).toEqual(Object.keys(SessionRecord.shape).sort());
  });

  it('the topic codec reads a v1 record with the all-zero uid, which the zod type accepts; a v1 reader reads v2 data', () => {
    const writerV1 = codecFromTypes<unknown>('session', new Map([[1, types.get(1)!]]), 1);
    const read = topicCodecs.sessions().decode(writerV1.encode(v1Session));
    expect(read).toEqual({ ...v1Session, sessionUid: SESSION_UID_UNKNOWN });
    expect(SessionRecord.safeParse(read).success).toBe(true);
    const readerV1 = codecFromTypes<unknown>('session', types, 1);
    expect(readerV1.decode(topicCodecs.sessions().encode(session))).toEqual(v1Session);
  });
});

describe('attribution-credit schema evolution', () => {
  const v1 = JSON.parse(readFileSync(join(AVRO_SCHEMA_DIR, 'attribution-credit.v1.avsc'), 'utf8'));
  // A possible v2: one optional field added at the end, with a default.
  const v2 = { ...v1, fields: [...v1.fields, { name: 'touchSessionId', type: ['null', 'string'], default: null }] };
  const types = new Map([
    [1, avro.Type.forSchema(v1)],
    [2, avro.Type.forSchema(v2)],
  ]);
  const credit: AttributionCredit = {
    conversionId: 'o1', customerId: 'u:1', site: 'shop', convertedAt: 1_700_000_000_000, model: 'time_decay', touchMessageId: 'm1',
    channel: 'email', campaign: 'spring', touchAt: 1_699_999_000_000, credit: 0.25, revenueShare: null, version: 4,
  };

  it('round-trips through the topic codec, and the Avro schema and the zod type describe the same fields', () => {
    const codec = topicCodecs.attribution();
    expect(codec.decode(codec.encode(credit))).toEqual(credit);
    expect(v1.fields.map((f: { name: string }) => f.name).sort()).toEqual(Object.keys(AttributionCredit.shape).sort());
    expect(AttributionCredit.safeParse(credit).success).toBe(true);
  });

  it('a v2 reader (added optional field) reads v1 data with its default, and a v1 reader reads v2 data', () => {
    const writerV1 = codecFromTypes<AttributionCredit>('attribution-credit', new Map([[1, types.get(1)!]]), 1);
    const readerV2 = codecFromTypes<AttributionCredit & { touchSessionId: string | null }>('attribution-credit', types, 2);
    expect(readerV2.decode(writerV1.encode(credit))).toEqual({ ...credit, touchSessionId: null });
    const writerV2 = codecFromTypes<unknown>('attribution-credit', new Map([[2, types.get(2)!]]), 2);
    const readerV1 = codecFromTypes<AttributionCredit>('attribution-credit', types, 1);
    expect(readerV1.decode(writerV2.encode({ ...credit, touchSessionId: 's1' }))).toEqual(credit);
  });
});

describe('leadingString', () => {
  const codec = topicCodecs.touchpoints();

  it("reads a touchpoint's messageId without decoding the rest, for every id length and character", () => {
    for (const messageId of ['m', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(70_000), 'ünïcödé-✓', '']) {
      const bytes = codec.encode(makeTouchpoint({ messageId }));
      expect(codec.leadingString(bytes)).toBe(codec.decode(bytes).messageId);
    }
  });

  it('rejects bytes that are not a record of this schema', () => {
    expect(() => codec.leadingString(Buffer.from('{"messageId":"m"}'))).toThrow(SchemaDecodeError);
    const cut = codec.encode(makeTouchpoint({ messageId: 'a-long-message-id' })).subarray(0, 8);
    expect(() => codec.leadingString(cut)).toThrow(SchemaDecodeError);
  });

  it('is refused for a schema whose versions do not all begin with the same string field', () => {
    const v1 = avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'id', type: 'string' }] });
    const v2 = avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'n', type: 'int', default: 0 }, { name: 'id', type: 'string' }] });
    const codec2 = codecFromTypes<{ id: string }>('r', new Map([[1, v1], [2, v2]]), 2);
    expect(() => codec2.leadingString(codec2.encode({ n: 1, id: 'a' } as never))).toThrow(/same string field/);
  });
});

describe('encodeAvro', () => {
  it('leaves the header bytes to the caller and grows its scratch space for a value larger than it', () => {
    const type = avro.Type.forSchema({ type: 'record', name: 'Big', fields: [{ name: 's', type: 'string' }] });
    for (const size of [3, 200_000, 10]) {
      const value = { s: 'x'.repeat(size) };
      const out = encodeAvro(type, value, 2);
      expect(out.length).toBe(2 + type.toBuffer(value).length);
      expect(type.fromBuffer(out.subarray(2))).toEqual(value);
    }
  });
});
