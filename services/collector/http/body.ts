import type { Readable } from 'node:stream';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { CollectorHttpError } from './errors.js';

export interface BodyHeaders {
  'content-encoding'?: string | undefined;
  'content-length'?: string | undefined;
}

/**
 * The request body as bytes, decompressed, never more than `limit` bytes.
 * The limit is enforced three times, each as early as possible:
 *  - the declared Content-Length, before reading anything;
 *  - the bytes on the wire while streaming (chunked uploads declare no length);
 *  - the decompressed bytes while inflating, so a gzip bomb is cut off after `limit` bytes of
 *    output instead of being inflated in full.
 */
export async function readRequestBody(payload: Readable, headers: BodyHeaders, limit: number): Promise<Buffer> {
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);

  const decompressor = decompressorFor(headers['content-encoding']);
  if (decompressor === null) return gatherBody(payload, limit);
  // Compressed: pipeline destroys every stage (the inflater included) as soon as any stage fails,
  // so a gzip bomb stops at the second limit instead of inflating on.
  const output = (pipeline as (...s: unknown[]) => Readable)(payload, new ByteLimit(limit), decompressor, new ByteLimit(limit), () => {});
  try {
    return await gatherBody(output, limit);
  } catch (error) {
    if (error instanceof CollectorHttpError) throw error;
    throw new CollectorHttpError(400, 'bad_encoding', 'request body is not valid gzip/deflate data');
  }
}

/**
 * A body's chunks gathered as they come: an uncompressed one (most requests) straight from the
 * request, without a pipeline (one per request cost ~6% of the collector's busy thread in the e2e:
 * its stages, and an AbortController aborted at every finish, which builds a DOMException with its
 * stack trace); a compressed one from its pipeline. Past `limit` it stops reading and answers at
 * once (request_too_large).
 */
function gatherBody(payload: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        // Stop reading, without destroying the request: the 400 still has to reach the client,
        // and Node's HTTP server discards (or closes on) what the client sends after it.
        payload.off('data', onData);
        payload.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    payload.on('data', onData);
    payload.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)));
    payload.once('error', reject);
    payload.once('close', () => reject(new CollectorHttpError(400, 'bad_request', 'request body ended before it was complete')));
  });
}

/**
 * Parses the body text. A syntax error is reported without V8's message (and is not attached as a
 * cause either): V8 quotes the input, and the input may hold PII that must not reach the logs.
 */
export function parseJsonBody(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new CollectorHttpError(400, 'bad_json', 'request body is empty');
  const text = bytes.toString('utf8');
  try {
    // The reviver costs ~2x, so only pay it when a prototype key could be present.
    return text.includes('__proto__') ? JSON.parse(text, dropPrototypeKeys) : JSON.parse(text);
  } catch {
    throw new CollectorHttpError(400, 'bad_json', 'request body is not valid JSON');
  }
}

function dropPrototypeKeys(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

function decompressorFor(encoding: string | undefined): Transform | null {
  const name = (encoding ?? 'identity').trim().toLowerCase();
  if (name === 'identity' || name === '') return null;
  if (name === 'gzip' || name === 'x-gzip') return createGunzip();
  if (name === 'deflate') return createInflate();
  throw new CollectorHttpError(400, 'bad_encoding', 'this Content-Encoding is not supported; use gzip');
}

function tooLarge(limit: number): CollectorHttpError {
  return new CollectorHttpError(400, 'request_too_large', `request body exceeds ${limit} bytes (after decompression)`);
}

/** Passes bytes through and fails the stream the moment more than `limit` have gone by. */
class ByteLimit extends Transform {
  private seen = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) callback(tooLarge(this.limit));
    else callback(null, chunk);
  }
}
