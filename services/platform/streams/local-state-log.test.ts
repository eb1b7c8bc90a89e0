import { crc32 } from 'node:zlib';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/logger.js';
import { decodeFrames, encodeFrame, openLocalStateLog } from './local-state-log.js';

const logger = createLogger('test', 'silent');
const dirs: string[] = [];
const tempPath = () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-state-'));
  dirs.push(dir);
  return join(dir, 'changelog-0.log');
};
const b = (s: string) => Buffer.from(s);
const asStrings = (m: Map<string, Buffer>) => Object.fromEntries([...m].map(([k, v]) => [k, v.toString()]));

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('local state log', () => {
  it('folds appended frames to the latest value per key, tombstones removing keys, and reports the offset after the last frame', () => {
    const path = tempPath();
    const log = openLocalStateLog(path, logger)!;
    log.append([{ key: 'a', value: b('1') }, { key: 'b', value: b('2') }], 12n);
    log.append([{ key: 'a', value: b('3') }, { key: 'b', value: null }, { key: 'c', value: b('') }], 15n);
    log.close();
    const loaded = openLocalStateLog(path, logger)!.load()!;
    expect(asStrings(loaded.entries)).toEqual({ a: '3', c: '' });
    expect(loaded.nextOffset).toBe(15n);
  });

  it('writes a frame byte for byte as the file format says (a copy written before still loads)', () => {
    const payload = Buffer.concat([
      Buffer.from('000000000000002a' + '00000002', 'hex'), // next offset 42, 2 entries
      Buffer.from('00000002', 'hex'), b('k1'), Buffer.from('00000003', 'hex'), b('abc'),
      Buffer.from('00000001', 'hex'), b('t'), Buffer.from('ffffffff', 'hex'), // a tombstone
    ]);
    const header = Buffer.alloc(8);
    header.writeUInt32BE(payload.length, 0);
    header.writeUInt32BE(crc32(payload), 4);
    expect(encodeFrame([{ key: 'k1', value: b('abc') }, { key: 't', value: null }], 42n).equals(Buffer.concat([header, payload]))).toBe(true);
  });

  it('has nothing to load before the first append', () => {
    expect(openLocalStateLog(tempPath(), logger)!.load()).toBeNull();
  });

  it('cuts off a frame torn by a crash and appends after the last intact one', () => {
    const path = tempPath();
    const log = openLocalStateLog(path, logger)!;
    log.append([{ key: 'a', value: b('1') }], 5n);
    log.close();
    const torn = encodeFrame([{ key: 'a', value: b('torn') }], 9n);
    appendFileSync(path, torn.subarray(0, torn.length - 3));

    const reopened = openLocalStateLog(path, logger)!;
    const loaded = reopened.load()!;
    expect(asStrings(loaded.entries)).toEqual({ a: '1' });
    expect(loaded.nextOffset).toBe(5n);
    reopened.append([{ key: 'b', value: b('2') }], 7n);
    reopened.close();
    const again = decodeFrames(readFileSync(path));
    expect(asStrings(again.entries)).toEqual({ a: '1', b: '2' });
    expect(again.nextOffset).toBe(7n);
    expect(again.validBytes).toBe(statSync(path).size);
  });

  it('rejects a frame whose checksum does not match', () => {
    const frame = encodeFrame([{ key: 'a', value: b('1') }], 3n);
    frame.writeUInt8(frame.readUInt8(frame.length - 1) ^ 0xff, frame.length - 1);
    expect(decodeFrames(frame)).toEqual({ entries: new Map(), nextOffset: null, validBytes: 0 });
  });

  it('rewrites itself as one frame of the given state', () => {
    const path = tempPath();
    const log = openLocalStateLog(path, logger)!;
    for (let i = 0; i < 50; i++) log.append([{ key: `k${i % 5}`, value: b(String(i)) }], BigInt(i + 1));
    const before = statSync(path).size;
    log.rewrite(new Map([['k0', b('45')], ['k4', b('49')]]), 50n);
    expect(statSync(path).size).toBeLessThan(before);
    log.append([{ key: 'k1', value: b('x') }], 51n);
    expect(asStrings(log.load()!.entries)).toEqual({ k0: '45', k4: '49', k1: 'x' });
  });

  it('replays its entries in order, tombstones included, only when the offset it reaches is accepted', () => {
    const path = tempPath();
    const log = openLocalStateLog(path, logger)!;
    log.append([{ key: 'a', value: b('1') }, { key: 'b', value: b('2') }], 12n);
    log.append([{ key: 'a', value: b('3') }, { key: 'b', value: null }], 15n);
    const seen: string[] = [];
    const take = (key: string, value: Buffer | null) => seen.push(`${key}=${value?.toString() ?? 'null'}`);
    expect(log.replay((at) => at <= 14n, take)).toBe(15n);
    expect(seen).toEqual([]);
    expect(log.replay(() => true, take)).toBe(15n);
    expect(seen).toEqual(['a=1', 'b=2', 'a=3', 'b=null']);
    expect(openLocalStateLog(tempPath(), logger)!.replay(() => true, take)).toBeNull();
  });

  it('a fresh copy written by a restore replaces the old file only when finished, in frames that each reach their committed offset', async () => {
    const path = tempPath();
    const log = openLocalStateLog(path, logger)!;
    log.append([{ key: 'old', value: b('x') }], 3n);
    const fresh = log.writer('fresh');
    const big = Buffer.alloc(600 * 1024, 1);
    fresh.add('a', big);
    fresh.commit(10n);
    fresh.add('b', big);
    fresh.commit(20n); // over a MiB: a frame is cut here
    fresh.add('a', null);
    expect(asStrings(decodeFrames(readFileSync(path)).entries)).toEqual({ old: 'x' });
    await fresh.finish(30n);
    const frames = decodeFrames(readFileSync(path));
    expect([...frames.entries.keys()]).toEqual(['b']);
    expect(frames.entries.get('b')!.equals(big)).toBe(true);
    expect(frames.nextOffset).toBe(30n);
    expect(existsSync(`${path}.tmp`)).toBe(false);
    // A torn second frame leaves the first, which reaches offset 20.
    writeFileSync(path, readFileSync(path).subarray(0, statSync(path).size - 3));
    expect(decodeFrames(readFileSync(path)).nextOffset).toBe(20n);
  });

  it('an abandoned fresh copy leaves the file as it was; an appending writer adds to it', async () => {
    const path = tempPath();
    const log = openLocalStateLog(path, logger)!;
    log.append([{ key: 'a', value: b('1') }], 3n);
    const fresh = log.writer('fresh');
    fresh.add('a', b('2'));
    fresh.commit(5n);
    await fresh.abandon();
    expect(existsSync(`${path}.tmp`)).toBe(false);
    const tail = log.writer('append');
    tail.add('b', b('2'));
    tail.commit(6n);
    await tail.finish(8n);
    const loaded = log.load()!;
    expect(asStrings(loaded.entries)).toEqual({ a: '1', b: '2' });
    expect(loaded.nextOffset).toBe(8n);
  });

  it('writes frames behind the restore, in order, and says when too many wait (backlog) so the restore waits for the disk', async () => {
    const path = tempPath();
    const log = openLocalStateLog(path, logger)!;
    const fresh = log.writer('fresh');
    const mib = Buffer.alloc(1024 * 1024, 7);
    expect(fresh.backlog()).toBeUndefined();
    // Twelve frames queued at once, without a write in between: more than the bound waits.
    for (let i = 0; i < 12; i++) {
      fresh.add(`k${i}`, mib);
      fresh.commit(BigInt(i + 1));
    }
    const behind = fresh.backlog();
    expect(behind).toBeInstanceOf(Promise);
    await behind;
    expect(fresh.backlog()).toBeUndefined();
    fresh.add('k0', null);
    await fresh.finish(13n);
    const frames = decodeFrames(readFileSync(path));
    expect([...frames.entries.keys()]).toEqual(Array.from({ length: 11 }, (_, i) => `k${i + 1}`));
    expect(frames.nextOffset).toBe(13n);
  });

  it('is held by one owner at a time: a second open in this process gets null until the first closes', () => {
    const path = tempPath();
    const first = openLocalStateLog(path, logger)!;
    expect(openLocalStateLog(path, logger)).toBeNull();
    first.close();
    expect(openLocalStateLog(path, logger)).not.toBeNull();
  });

  it('is not taken from another live process, and is taken over from a dead one', () => {
    const path = tempPath();
    writeFileSync(`${path}.lock`, String(process.ppid)); // alive: our parent
    expect(openLocalStateLog(path, logger)).toBeNull();
    writeFileSync(`${path}.lock`, '2147483646'); // no such process
    const log = openLocalStateLog(path, logger);
    expect(log).not.toBeNull();
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe(String(process.pid));
    log!.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('after discard has nothing to load and ignores appends', () => {
    const path = tempPath();
    const log = openLocalStateLog(path, logger)!;
    log.append([{ key: 'a', value: b('1') }], 1n);
    log.discard();
    log.append([{ key: 'b', value: b('2') }], 2n);
    expect(existsSync(path)).toBe(false);
    log.close();
    expect(openLocalStateLog(path, logger)!.load()).toBeNull();
  });
});
