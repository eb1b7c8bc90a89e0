import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { z } from 'zod';

const AVRO_DIR = join(dirname(fileURLToPath(import.meta.url)), 'avro');
/** Wire format: [0x00 magic][uint16 BE writer-schema version][avro binary]. Like Confluent's, minus a registry. */
const MAGIC = 0x00;
const HEADER_BYTES = 3;

export class SchemaDecodeError extends Error {
  readonly retriable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SchemaDecodeError';
  }
}

export interface Codec<T> {
  readonly name: string;
  readonly version: number;
  encode(value: T): Buffer;
  /** Decodes data written with any known version of the schema into the current (reader) shape. */
  decode(bytes: Buffer): T;
  /**
   * The record's first field without decoding the rest, for schemas whose every known version
   * begins with the same string field (a touchpoint's messageId): a cheap read of a key field.
   */
  leadingString(bytes: Buffer): string;
}

/** Scratch space for encoding (grown when a value needs more); single-threaded, so one suffices. */
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * `value` as Avro binary after `headerBytes` bytes the caller fills in, in a buffer of exactly that
 * size. Cheaper than avsc's toBuffer + a copy behind a header: toBuffer zero-fills a fresh
 * ArrayBuffer per value (Buffer.alloc), while this writes into scratch space and copies once into
 * pooled, unfilled memory (Buffer.allocUnsafe).
 */
export function encodeAvro(type: avro.Type, value: unknown, headerBytes: number): Buffer {
  let end = type.encode(value, scratch, headerBytes);
  // avsc returns minus the bytes still missing: grow by at least that (doubling alone falls short
  // for a value more than twice the scratch space).
  while (end < 0) {
    scratch = Buffer.allocUnsafe(Math.max(2 * scratch.length, scratch.length - end));
    end = type.encode(value, scratch, headerBytes);
  }
  const out = Buffer.allocUnsafe(end);
  scratch.copy(out, headerBytes, headerBytes, end);
  return out;
}

/** Every `.avsc` shares one registry so records can reference each other by full name. */
const registry: Record<string, avro.Type> = {};

function parseSchemaFile(file: string): avro.Type {
  const schema = JSON.parse(readFileSync(join(AVRO_DIR, file), 'utf8'));
  return avro.Type.forSchema(schema, { registry: { ...registry } });
}

/** Versions on disk for a schema name, e.g. touchpoint.v1.avsc, touchpoint.v2.avsc → [1, 2]. */
function versionsOnDisk(name: string): number[] {
  const pattern = new RegExp(`^${name}\\.v(\\d+)\\.avsc$`);
  return readdirSync(AVRO_DIR)
    .map((f) => pattern.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * A codec whose writer versions are given explicitly: the reader is `types[readerVersion]`,
 * any other version is resolved into it with Avro schema resolution.
 */
export function codecFromTypes<T>(name: string, types: Map<number, avro.Type>, readerVersion: number): Codec<T> {
  const reader = types.get(readerVersion);
  if (!reader) throw new Error(`schema ${name} has no version ${readerVersion}`);
  const resolvers = new Map<number, avro.Resolver | null>();
  for (const [v, writer] of types) resolvers.set(v, v === readerVersion ? null : reader.createResolver(writer));
  const leadingField = leadingStringField([...types.values()]);
  return {
    name,
    version: readerVersion,
    encode(value: T): Buffer {
      const out = encodeAvro(reader, value, HEADER_BYTES);
      out[0] = MAGIC;
      out.writeUInt16BE(readerVersion, 1);
      return out;
    },
    decode(bytes: Buffer): T {
      if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC) {
        throw new SchemaDecodeError(`${name}: not an Avro message of this pipeline (bad magic byte)`);
      }
      const version = bytes.readUInt16BE(1);
      if (!resolvers.has(version)) throw new SchemaDecodeError(`${name}: unknown writer schema version ${version}`);
      try {
        const resolver = resolvers.get(version) ?? undefined;
        const writer = types.get(version)!;
        return writer === reader
          ? (reader.fromBuffer(bytes.subarray(HEADER_BYTES)) as T)
          : (reader.fromBuffer(bytes.subarray(HEADER_BYTES), resolver) as T);
      } catch (cause) {
        throw new SchemaDecodeError(`${name}: undecodable Avro v${version} body`, { cause });
      }
    },
    leadingString(bytes: Buffer): string {
      if (leadingField === null) throw new Error(`${name}: not every version begins with the same string field`);
      if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC || !resolvers.has(bytes.readUInt16BE(1))) {
        throw new SchemaDecodeError(`${name}: not an Avro message of this pipeline (bad header)`);
      }
      // An Avro string: its byte length as a zig-zag varint, then UTF-8.
      let at = HEADER_BYTES;
      let zigzag = 0;
      for (let shift = 0; ; shift += 7) {
        const byte = bytes[at++];
        if (byte === undefined || shift > 28) throw new SchemaDecodeError(`${name}: undecodable ${leadingField}`);
        zigzag += (byte & 0x7f) * 2 ** shift;
        if (byte < 0x80) break;
      }
      const length = zigzag % 2 === 0 ? zigzag / 2 : -1;
      if (length < 0 || at + length > bytes.length) throw new SchemaDecodeError(`${name}: undecodable ${leadingField}`);
      return bytes.toString('utf8', at, at + length);
    },
  };
}

/** The name of the first field when it is a string field of that name in every type, else null. */
function leadingStringField(types: avro.Type[]): string | null {
  const names = types.map((t) => {
    const first = (t as avro.types.RecordType).fields?.[0];
    return first && first.type.typeName === 'string' ? first.name : null;
  });
  return names.every((n) => n !== null && n === names[0]) ? names[0]! : null;
}

const codecs = new Map<string, Codec<unknown>>();

/** Schemas other schemas reference by name, loaded (newest version) before anything else. */
const REFERENCED_FIRST = ['touchpoint', 'customer-touchpoint'];
let referencesLoaded = false;
function loadReferencedTypes(): void {
  if (referencesLoaded) return;
  referencesLoaded = true;
  for (const name of REFERENCED_FIRST) codecFor(name);
}

/** The codec for `schemas/avro/<name>.v*.avsc`, reading and writing the newest version. */
export function codecFor<T>(name: string): Codec<T> {
  const cached = codecs.get(name);
  if (cached) return cached as Codec<T>;
  if (!REFERENCED_FIRST.includes(name)) loadReferencedTypes();
  const versions = versionsOnDisk(name);
  if (versions.length === 0) throw new Error(`no Avro schema named ${name} in ${AVRO_DIR}`);
  const types = new Map<number, avro.Type>();
  // Every version of a schema has the same full name: each is parsed on its own, and only the
  // newest is registered for other schemas to reference.
  for (const v of versions) types.set(v, parseSchemaFile(`${name}.v${v}.avsc`));
  const newest = types.get(versions[versions.length - 1]!)!;
  if (newest.name) registry[newest.name] = newest;
  const codec = codecFromTypes<T>(name, types, versions[versions.length - 1]!);
  codecs.set(name, codec as Codec<unknown>);
  return codec;
}

/**
 * `codec` whose decode also checks the value against the zod type `schema`, for a schema whose
 * Avro form admits values the zod type does not (one envelope of nullable fields for several
 * kinds): such a value is a SchemaDecodeError naming the kind and the fields at fault, which
 * readers dead-letter like undecodable bytes. Encoding is not checked (the writer's types are).
 * `schema` must only check (no transforms or defaults): decode returns the decoded value itself,
 * not zod's copy of it, which costs a copy of every field per record (measured on the journey
 * step: the check adds ~2.5 CPU-µs per record this way, ~4 with the copy). `accepts`, when given,
 * is a hand-written test that is true only for values `schema` accepts: those skip zod, which
 * still decides (and explains) every value `accepts` refuses.
 */
export function checkedCodec<T>(codec: Codec<unknown>, schema: z.ZodType<T>, accepts?: (value: unknown) => boolean): Codec<T> {
  return {
    name: codec.name,
    version: codec.version,
    encode: (value: T) => codec.encode(value),
    decode(bytes: Buffer): T {
      const value = codec.decode(bytes);
      if (accepts?.(value) === true) return value as T;
      const checked = schema.safeParse(value);
      if (checked.success) return value as T;
      const kind = (value as { kind?: unknown }).kind;
      const issues = checked.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
      throw new SchemaDecodeError(`${codec.name}: invalid ${typeof kind === 'string' ? `'${kind}' ` : ''}record: ${issues}`);
    },
    leadingString: (bytes: Buffer) => codec.leadingString(bytes),
  };
}

export const AVRO_SCHEMA_DIR = AVRO_DIR;
