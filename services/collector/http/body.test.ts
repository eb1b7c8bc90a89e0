import { Readable } from 'node:stream';
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseJsonBody, readRequestBody } from './body.js';

const LIMIT = 500 * 1024;

describe('readRequestBody', () => {
  it('returns plain and gzip/deflate bodies decompressed', async () => {
    const json = Buffer.from('{"batch":[]}');
    expect((await readRequestBody(Readable.from([json]), {}, LIMIT)).toString()).toBe('{"batch":[]}');
    expect((await readRequestBody(Readable.from([gzipSync(json)]), { 'content-encoding': 'gzip' }, LIMIT)).toString()).toBe('{"batch":[]}');
    expect((await readRequestBody(Readable.from([deflateSync(json)]), { 'content-encoding': 'deflate' }, LIMIT)).toString()).toBe('{"batch":[]}');
  });

  it('joins a plain body sent in several chunks, and rejects one whose client went away before its end', async () => {
    const parts = ['{"batch":', '[{"type":"track"}', ']}'].map((t) => Buffer.from(t));
    expect((await readRequestBody(Readable.from(parts), {}, LIMIT)).toString()).toBe('{"batch":[{"type":"track"}]}');
    const cut = new Readable({ read() {} });
    const read = readRequestBody(cut, {}, LIMIT);
    cut.push(Buffer.from('{"batch":['));
    cut.destroy();
    await expect(read).rejects.toMatchObject({ statusCode: 400 });
  });

  it('refuses a declared Content-Length over the limit before reading a byte', async () => {
    let pulled = false;
    const body = new Readable({ read: () => { pulled = true; } });
    await expect(readRequestBody(body, { 'content-length': String(LIMIT + 1) }, LIMIT)).rejects.toMatchObject({ code: 'request_too_large' });
    expect(pulled).toBe(false);
  });

  it('refuses an undeclared (chunked) body once it streams past the limit', async () => {
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(64 * 1024, 0x20));
    await expect(readRequestBody(Readable.from(chunks), {}, LIMIT)).rejects.toMatchObject({ statusCode: 400, code: 'request_too_large' });
  });

  it('cuts a gzip bomb off after the limit instead of inflating it all', async () => {
    // 100 gzip members of 10 MB of zeros: ~1 MB on the wire, 1 GB inflated.
    const member = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    const compressedBytes = member.length * 100;
    let pulled = 0;
    function* upload() {
      for (let m = 0; m < 100; m++) {
        for (let i = 0; i < member.length; i += 1024) {
          const chunk = member.subarray(i, i + 1024);
          pulled += chunk.length;
          yield chunk;
        }
      }
    }
    await expect(readRequestBody(Readable.from(upload()), { 'content-encoding': 'gzip' }, LIMIT)).rejects.toMatchObject({ code: 'request_too_large' });
    // Inflation stopped early: only a small prefix of the upload was ever read (how long that took
    // depends on the machine and is not asserted; how much was read does not).
    expect(pulled).toBeLessThan(compressedBytes / 10);
  });

  it('answers bad_encoding for corrupt gzip and for encodings it does not speak', async () => {
    await expect(readRequestBody(Readable.from([Buffer.from('plain text')]), { 'content-encoding': 'gzip' }, LIMIT)).rejects.toMatchObject({ code: 'bad_encoding' });
    await expect(readRequestBody(Readable.from([Buffer.from('x')]), { 'content-encoding': 'br' }, LIMIT)).rejects.toMatchObject({ code: 'bad_encoding' });
  });
});

describe('parseJsonBody', () => {
  it('reports malformed JSON without quoting the input', () => {
    try {
      parseJsonBody(Buffer.from('{"email":"jane@example.com",'));
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'bad_json', message: 'request body is not valid JSON' });
      expect((error as Error).cause).toBeUndefined();
    }
  });

  it('refuses an empty body', () => {
    expect(() => parseJsonBody(Buffer.alloc(0))).toThrow('request body is empty');
  });

  it('drops __proto__ keys so a payload cannot swap an object prototype', () => {
    const parsed = parseJsonBody(Buffer.from('{"a":1,"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(parsed).toEqual({ a: 1 });
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });
});
