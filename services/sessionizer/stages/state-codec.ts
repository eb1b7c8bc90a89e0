import avro from 'avsc';
import { encodeAvro } from '../../../schemas/codec.js';
import { STAGES, type Stage } from '../../../schemas/journey.js';
import { JourneyStateSchema, type JourneyState } from './journey-state.js';

/**
 * The journey part of a customer's changelog value (and of a merge transfer).
 *
 * Format 3 (the changelog value, written by StagesPartition): format 2 behind a fixed header,
 *   [0x03][u8 stage rank, 0xFF = none][f64 LE due at][f64 LE last activity at][u32 LE schedule][Avro],
 * NaN for a time that is none. The header says what a restore and the idle round need without
 * decoding the state (the store keeps it encoded until first access): the customer's next due time
 * (drop-off, lapse, churn rescoring), computed under the settings whose fingerprint is `schedule`
 * (a restore under other settings decodes and computes it again), its last activity and its stage.
 * Format 2 (written for merge transfers, still read): one byte 0x02, then the state as Avro binary
 * (JOURNEY_STATE_AVRO below): no key names, numbers as 8-byte doubles, strings with a varint length.
 * About 2.5× smaller than the JSON it replaced and several times cheaper to encode; the state is
 * written for every changed customer, so its size is what the changelog, the broker and a restore pay for.
 * Format 1 (still read, so a changelog written before keeps restoring): UTF-8 JSON `{"v":1,"state":…}`,
 * validated with the zod schema.
 * Decoding fails loudly (SnapshotError) on anything else, a truncated value or trailing bytes.
 */
const FORMAT_AVRO = 0x02;
const FORMAT_WITH_HEADER = 0x03;
/** Bytes of format 3 before its Avro body (the format byte included). */
export const JOURNEY_HEADER_BYTES = 22;
/** Where format 3's header fields are (a store reads them from the bytes it keeps). */
export const JOURNEY_HEADER_AT = { stage: 1, dueAt: 2, lastActivityAt: 10, schedule: 18 } as const;
const NO_STAGE = 0xff;
const JSON_OPEN_BRACE = 0x7b;
const JSON_VERSION = 1;

export class SnapshotError extends Error {
  readonly retriable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotError';
  }
}

const nullable = (type: unknown) => ['null', type];
const dims = {
  type: 'record',
  name: 'Dimensions',
  fields: [
    { name: 'site', type: 'string' },
    { name: 'channel', type: 'string' },
    { name: 'campaign', type: nullable('string') },
    { name: 'deviceType', type: 'string' },
    { name: 'segment', type: nullable('string') },
  ],
};
const count = { type: 'record', name: 'DecayingCount', fields: [{ name: 'n', type: 'double' }, { name: 'at', type: 'double' }] };

/** Field order is the encoding: append new fields at the end with a default, never reorder. */
export const JOURNEY_STATE_AVRO = {
  type: 'record',
  name: 'JourneyState',
  namespace: 'journey.state',
  fields: [
    { name: 'customerId', type: 'string' },
    { name: 'accountId', type: nullable('string') },
    { name: 'stage', type: nullable({ type: 'enum', name: 'Stage', symbols: [...STAGES] }) },
    { name: 'enteredAt', type: nullable('double') },
    { name: 'previousStage', type: nullable('Stage') },
    { name: 'furthestStage', type: nullable('Stage') },
    { name: 'journeyNumber', type: 'double' },
    { name: 'referrerCustomerId', type: nullable('string') },
    { name: 'msInStage', type: { type: 'array', items: 'double' } },
    { name: 'entryMessageId', type: nullable('string') },
    { name: 'entryDims', type: nullable(dims) },
    { name: 'conversionDeadline', type: nullable('double') },
    {
      name: 'purchases',
      type: { type: 'record', name: 'Purchases', fields: [{ name: 'firstAt', type: nullable('double') }, { name: 'lastAt', type: nullable('double') }, { name: 'repeatCount', type: 'double' }] },
    },
    { name: 'lastActivityAt', type: nullable('double') },
    { name: 'lastEngagedAt', type: nullable('double') },
    { name: 'lastMessageId', type: nullable('string') },
    { name: 'lastDims', type: nullable('Dimensions') },
    {
      name: 'signals',
      type: {
        type: 'record',
        name: 'ChurnSignals',
        fields: [
          { name: 'complaints', type: count },
          { name: 'lowFeedback', type: 'DecayingCount' },
          { name: 'paymentFailures', type: 'DecayingCount' },
          { name: 'cancellationIntent', type: 'DecayingCount' },
          { name: 'cancelled', type: 'DecayingCount' },
          { name: 'cartOpenedAt', type: nullable('double') },
          { name: 'lastNps', type: nullable('double') },
          { name: 'lastRating', type: nullable('double') },
          { name: 'activity', type: { type: 'array', items: { type: 'array', items: 'double' } } },
        ],
      },
    },
    {
      name: 'churn',
      type: {
        type: 'record',
        name: 'ChurnMemo',
        fields: [
          { name: 'scoredAt', type: nullable('double') },
          { name: 'emittedScore', type: nullable('double') },
          { name: 'emittedAction', type: nullable('string') },
          { name: 'emittedAt', type: nullable('double') },
        ],
      },
    },
    { name: 'entered', type: nullable('boolean') },
    { name: 'opened', type: nullable('boolean') },
  ],
};

// wrapUnions false: a ['null', X] union reads and writes plain values, as the state holds them.
const avroType = avro.Type.forSchema(JOURNEY_STATE_AVRO as avro.Schema, { wrapUnions: false });

/** What format 3 carries besides the state (the stage and last activity come from the state). */
export interface JourneyHeader {
  stage: Stage | null;
  /** The earliest time-driven work (null: none), as computed under the settings `schedule`. */
  dueAt: number | null;
  lastActivityAt: number | null;
  /** A 32-bit fingerprint of the settings the due time depends on. */
  schedule: number;
}

/** Format 3 when `due` is given (the changelog value), else format 2 (a merge transfer). */
export function encodeJourneyState(state: JourneyState, due?: { at: number | null; schedule: number }): Buffer {
  const headerBytes = due === undefined ? 1 : JOURNEY_HEADER_BYTES;
  const out = encodeAvro(avroType, { ...state, entered: state.entered ?? null, opened: state.opened ?? null }, headerBytes);
  if (due === undefined) {
    out[0] = FORMAT_AVRO;
    return out;
  }
  out[0] = FORMAT_WITH_HEADER;
  out[JOURNEY_HEADER_AT.stage] = state.stage === null ? NO_STAGE : STAGES.indexOf(state.stage);
  out.writeDoubleLE(due.at ?? Number.NaN, JOURNEY_HEADER_AT.dueAt);
  out.writeDoubleLE(state.lastActivityAt ?? Number.NaN, JOURNEY_HEADER_AT.lastActivityAt);
  out.writeUInt32LE(due.schedule >>> 0, JOURNEY_HEADER_AT.schedule);
  return out;
}

/** Format 3's header, or null for a value of format 1 or 2 (decode it to learn the same). */
export function readJourneyHeader(bytes: Uint8Array): JourneyHeader | null {
  if (bytes[0] !== FORMAT_WITH_HEADER) return null;
  if (bytes.length < JOURNEY_HEADER_BYTES) throw new SnapshotError('journey snapshot cut short in its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, JOURNEY_HEADER_BYTES);
  const dueAt = view.getFloat64(JOURNEY_HEADER_AT.dueAt, true);
  const lastActivityAt = view.getFloat64(JOURNEY_HEADER_AT.lastActivityAt, true);
  const stage = bytes[JOURNEY_HEADER_AT.stage]!;
  return {
    stage: stage === NO_STAGE ? null : (STAGES[stage] ?? null),
    dueAt: Number.isNaN(dueAt) ? null : dueAt,
    lastActivityAt: Number.isNaN(lastActivityAt) ? null : lastActivityAt,
    schedule: view.getUint32(JOURNEY_HEADER_AT.schedule, true),
  };
}

export function decodeJourneyState(bytes: Uint8Array): JourneyState {
  if (bytes[0] === FORMAT_WITH_HEADER) {
    if (bytes.length < JOURNEY_HEADER_BYTES) throw new SnapshotError('journey snapshot cut short in its header');
    return decodeAvro(bytes, JOURNEY_HEADER_BYTES);
  }
  if (bytes[0] === FORMAT_AVRO) return decodeAvro(bytes, 1);
  if (bytes[0] === JSON_OPEN_BRACE) return decodeJson(bytes);
  throw new SnapshotError(`not a journey snapshot (first byte ${bytes[0] ?? 'none'})`);
}

function decodeAvro(bytes: Uint8Array, headerBytes: number): JourneyState {
  let decoded: JourneyState & { entered: boolean | null; opened: boolean | null };
  try {
    decoded = avroType.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset + headerBytes, bytes.length - headerBytes));
  } catch (cause) {
    throw new SnapshotError(`invalid journey snapshot: ${(cause as Error).message}`, { cause });
  }
  const { entered, opened, ...rest } = decoded;
  if (rest.msInStage.length !== STAGES.length) throw new SnapshotError(`invalid journey snapshot: ${rest.msInStage.length} stage durations`);
  const state: JourneyState = { ...rest, signals: { ...rest.signals, activity: rest.signals.activity as Array<[number, number]> } };
  if (entered !== null) state.entered = entered;
  if (opened !== null) state.opened = opened;
  return state;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function decodeJson(bytes: Uint8Array): JourneyState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (cause) {
    throw new SnapshotError('journey snapshot is not UTF-8 JSON', { cause });
  }
  const v = (parsed as { v?: unknown } | null)?.v;
  if (v !== JSON_VERSION) throw new SnapshotError(`unsupported journey snapshot version ${String(v)}`);
  const result = JourneyStateSchema.safeParse((parsed as { state?: unknown }).state);
  if (!result.success) throw new SnapshotError(`invalid journey snapshot: ${result.error.issues[0]?.message ?? 'unknown'}`, { cause: result.error });
  return result.data;
}

/**
 * A kept (cold) format 3 value leaves out its customer id, the Avro body's first field, when that
 * is the key the store keeps the value under: a byte KEY_ID_STAND_IN stands in its place (a negative length,
 * which no Avro string has). The id is the key's copy (14–40 bytes); a million restored customers
 * hold it once in their keys. Only an ASCII id equal to the key is left out, so putting the key
 * back (`withKeyId`) gives the value's bytes exactly.
 */
export const KEY_ID_STAND_IN = 0x01;
let keyless = new Uint8Array(512);

/** The value without its customer id when that is `key` (a view, valid until the next call), else the value itself. */
export function withoutKeyId(bytes: Uint8Array, key: string): Uint8Array {
  const at = JOURNEY_HEADER_BYTES;
  const to = keyIdEnd(bytes, key);
  if (to < 0) return bytes;
  const n = bytes.length - (to - at) + 1;
  if (keyless.length < n) keyless = new Uint8Array(2 * n);
  keyless.set(bytes.subarray(0, at));
  keyless[at] = KEY_ID_STAND_IN;
  keyless.set(bytes.subarray(to), at + 1);
  return keyless.subarray(0, n);
}

/**
 * Where the customer id that `withoutKeyId` leaves out ends (it begins at JOURNEY_HEADER_BYTES,
 * with its length), or -1 when the value keeps it (not format 3, or an id other than the ASCII
 * `key`). For a holder that copies the value anyway: it writes the header, KEY_ID_STAND_IN and
 * the bytes from here (as PackedArena.addSpliced does), which are withoutKeyId's bytes.
 */
export function keyIdEnd(bytes: Uint8Array, key: string): number {
  const at = JOURNEY_HEADER_BYTES;
  if (bytes[0] !== FORMAT_WITH_HEADER || bytes.length <= at) return -1;
  // The id's length: a zigzag varint, 2 × length for a string.
  let zigzag = 0;
  let scale = 1;
  let pos = at;
  for (;;) {
    const b = bytes[pos++];
    if (b === undefined || pos - at > 5) return -1;
    zigzag += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) break;
  }
  const length = zigzag / 2;
  if (length !== key.length || pos + length > bytes.length) return -1;
  for (let i = 0; i < length; i++) if (key.charCodeAt(i) !== bytes[pos + i] || bytes[pos + i]! >= 0x80) return -1;
  return pos + length;
}

/** The value as it was written: its customer id put back from `key` where `withoutKeyId` left it out. */
export function withKeyId(bytes: Uint8Array, key: string): Uint8Array {
  const at = JOURNEY_HEADER_BYTES;
  if (bytes[0] !== FORMAT_WITH_HEADER || bytes[at] !== KEY_ID_STAND_IN) return bytes;
  let varint = 0;
  for (let z = 2 * key.length; ; varint++, z = Math.floor(z / 128)) if (z < 128) break;
  varint++;
  const out = Buffer.allocUnsafe(bytes.length - 1 + varint + key.length);
  out.set(bytes.subarray(0, at));
  let pos = at;
  for (let z = 2 * key.length; ; z = Math.floor(z / 128)) {
    if (z < 128) {
      out[pos++] = z;
      break;
    }
    out[pos++] = (z & 0x7f) | 0x80;
  }
  for (let i = 0; i < key.length; i++) out[pos++] = key.charCodeAt(i);
  out.set(bytes.subarray(at + 1), pos);
  return out;
}
