import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../../schemas/journey.js';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { CustomerCodec } from './customer-codec.js';
import { cyrb53 } from './hash.js';
import { SessionizerPartition } from './partition.js';
import { sessionIdOf, sessionUidOf } from './session-summary.js';
import { sessionizerConfig } from './sessions.js';
import { stageByEventName, touchpoint } from './test-touchpoint.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
// Defaults: gap 30 min, max 24 h, grace 10 min, dedup 24 h.
const config = sessionizerConfig(stageByEventName);

/** A touchpoint at `minute`, with a messageId named after it unless given. */
const at = (minute: number, over: Partial<Touchpoint> = {}): Touchpoint =>
  touchpoint({ messageId: `m@${minute}`, timestamp: minute * MIN, ...over });

const idOf = (messageId: string): string => sessionIdOf(cyrb53(messageId));

/** Feeds touchpoints of one customer, calling expire after each, and collects every record. */
function run(p: SessionizerPartition, tps: Touchpoint[], customerId = 'a:A'): SessionRecord[] {
  const out: SessionRecord[] = [];
  for (const tp of tps) {
    out.push(...p.process(tp, customerId).sessions);
    out.push(...p.expire());
  }
  return out;
}

/** Closes everything: moves event time far past every session. */
function closeAll(p: SessionizerPartition): SessionRecord[] {
  p.advanceWatermark(p.watermark + 48 * HOUR);
  return p.expire();
}

const latest = (records: SessionRecord[]): Map<string, SessionRecord> => {
  const byId = new Map<string, SessionRecord>();
  for (const r of records) if ((byId.get(r.sessionId)?.version ?? -Infinity) < r.version) byId.set(r.sessionId, r);
  return byId;
};

describe('sessions', () => {
  it('keeps events within the inactivity gap in one session and reports each change', () => {
    const p = new SessionizerPartition(config);
    const first = p.process(at(0, { url: '/home', event: 'page_view' }), 'a:A');
    expect(first.sessionId).toBe(idOf('m@0'));
    expect(first.sessions.map((r) => r.status)).toEqual(['opened']);
    const second = p.process(at(29, { url: '/cart', event: 'product_view', channel: 'email' }), 'a:A');
    expect(second.sessionId).toBe(first.sessionId);
    const record = second.sessions[0]!;
    expect(record).toMatchObject({
      status: 'updated',
      startedAt: 0,
      endedAt: 29 * MIN,
      eventCount: 2,
      entryUrl: '/home',
      exitUrl: '/cart',
      entryEvent: 'page_view',
      exitEvent: 'product_view',
      channels: ['web', 'email'],
      furthestStage: 'consideration',
      converted: false,
      site: 'shop',
      customerId: 'a:A',
    });
    expect(record.version).toBeGreaterThan(first.sessions[0]!.version);
  });

  it('starts a new session after the inactivity gap and closes the old one once gap and grace have passed', () => {
    const p = new SessionizerPartition(config);
    const records = run(p, [at(0), at(31)]);
    expect(new Set(records.map((r) => r.sessionId))).toEqual(new Set([idOf('m@0'), idOf('m@31')]));
    expect(records.some((r) => r.status === 'closed')).toBe(false);
    const closed = run(p, [at(71)]).filter((r) => r.status === 'closed');
    expect(closed.map((r) => r.sessionId)).toEqual([idOf('m@0')]);
    expect(p.stats().openSessions).toBe(2);
  });

  it('cuts a session at the maximum length even when events keep coming', () => {
    const p = new SessionizerPartition(config);
    const minutes = Array.from({ length: 26 * 6 }, (_, i) => i * 10);
    const records = [...run(p, minutes.map((m) => at(m))), ...closeAll(p)];
    const closed = [...latest(records).values()].filter((r) => r.status === 'closed');
    expect(closed.map((r) => [r.startedAt / HOUR, r.endedAt / HOUR])).toEqual([
      [0, 24 - 1 / 6],
      [24, 26 - 1 / 6],
    ]);
  });

  it('places an out-of-order event within grace in the session it belongs to', () => {
    const p = new SessionizerPartition(config);
    run(p, [at(0), at(5), at(40), at(45)]);
    const late = p.process(at(3, { messageId: 'early' }), 'a:A');
    expect(late).toMatchObject({ late: false, sessionId: idOf('m@0') });
    expect(late.sessions).toMatchObject([{ sessionId: idOf('m@0'), status: 'updated', eventCount: 3, endedAt: 5 * MIN }]);
  });

  it('merges two sessions bridged by an out-of-order event, keeping the earlier id', () => {
    const p = new SessionizerPartition(config);
    run(p, [at(0), at(5), at(36)]);
    const bridge = p.process(at(28, { messageId: 'bridge' }), 'a:A');
    expect(bridge.sessionId).toBe(idOf('m@0'));
    expect(bridge.sessions).toMatchObject([
      { sessionId: idOf('m@36'), status: 'merged' },
      { sessionId: idOf('m@0'), status: 'updated', startedAt: 0, endedAt: 36 * MIN, eventCount: 4 },
    ]);
    expect(p.stats().openSessions).toBe(1);
  });

  it('renames a session whose start an out-of-order event moves earlier: the id is always its first event', () => {
    const p = new SessionizerPartition(config);
    run(p, [at(10), at(12)]);
    const earlier = p.process(at(8, { messageId: 'earlier' }), 'a:A');
    expect(earlier.sessionId).toBe(idOf('earlier'));
    expect(earlier.sessions.map((r) => [r.sessionId, r.status])).toEqual([
      [idOf('m@10'), 'merged'],
      [idOf('earlier'), 'opened'],
    ]);
  });

  it('keys every version of a session by the same 128-bit uid: its first event\'s time and messageId hash', () => {
    const p = new SessionizerPartition(config);
    const records = [...run(p, [at(0), at(5), at(36)]), ...p.process(at(28, { messageId: 'bridge' }), 'a:A').sessions, ...closeAll(p)];
    const uidsById = new Map<string, Set<string>>();
    for (const r of records) uidsById.set(r.sessionId, (uidsById.get(r.sessionId) ?? new Set()).add(r.sessionUid));
    expect([...uidsById]).toEqual([
      [idOf('m@0'), new Set([sessionUidOf(0, cyrb53('m@0'))])],
      [idOf('m@36'), new Set([sessionUidOf(36 * MIN, cyrb53('m@36'))])],
    ]);
  });

  it('gives two sessions whose first messageIds hash alike (same 53-bit id) different uids when they start apart', () => {
    const hash = cyrb53('m');
    expect(sessionUidOf(0, hash)).not.toBe(sessionUidOf(1, hash));
    expect(sessionUidOf(1_767_607_200_000, 2 ** 53 - 1)).toBe('0000019b-8d99-6900-001f-ffffffffffff');
    expect(sessionUidOf(-1, 0)).toBe('ffffffff-ffff-ffff-0000-000000000000');
    expect(sessionUidOf(1_767_607_200_000, 0xabc)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('flags an event beyond grace outside every open session as late, keeps it and counts it', () => {
    const p = new SessionizerPartition(config);
    run(p, [at(0), at(100)]);
    const late = p.process(at(50, { messageId: 'stray' }), 'a:A');
    expect(late).toMatchObject({ duplicate: false, late: true, sessionId: idOf('stray'), sessions: [] });
    expect(p.stats().lateEvents).toBe(1);
  });

  it('still places an event beyond grace that falls inside a long open session', () => {
    const p = new SessionizerPartition(config);
    run(p, [at(0), at(20), at(40), at(60)]);
    const old = p.process(at(30, { messageId: 'old', event: 'order_completed' }), 'a:A');
    expect(old).toMatchObject({ late: false, sessionId: idOf('m@0') });
    expect(old.sessions).toMatchObject([{ eventCount: 5, converted: true, furthestStage: 'purchase', endedAt: 60 * MIN }]);
  });

  it('reports a repeated messageId as a duplicate and leaves the session untouched', () => {
    const p = new SessionizerPartition(config);
    run(p, [at(0), at(1)]);
    const again = p.process(at(0), 'a:A');
    expect(again).toMatchObject({ duplicate: true, sessions: [] });
    expect(p.stats().duplicates).toBe(1);
    const records = closeAll(p);
    expect(records).toMatchObject([{ status: 'closed', eventCount: 2 }]);
  });

  it('remembers messageIds after the session closed, until the dedup window passes, then forgets the customer', () => {
    const p = new SessionizerPartition(config);
    run(p, [at(0)]);
    p.advanceWatermark(2 * HOUR);
    p.expire();
    expect(p.stats()).toMatchObject({ customers: 1, idleCustomers: 1, openSessions: 0 });
    expect(p.process(at(0), 'a:A').duplicate).toBe(true);
    p.advanceWatermark(25 * HOUR);
    p.expire();
    expect(p.stats().customers).toBe(0);
    expect(p.snapshot('a:A')).toBeNull();
    expect(p.process(at(0), 'a:A')).toMatchObject({ duplicate: false, late: true });
  });

  it('keeps a customer account from its latest group call, also once the customer is idle and dropped', () => {
    const p = new SessionizerPartition(config);
    p.process(at(0, { type: 'group', groupId: 'acme' }), 'u:U');
    expect(p.process(at(1), 'u:U').accountId).toBe('acme');
    p.process(at(2, { type: 'group', groupId: 'globex' }), 'u:U');
    p.advanceWatermark(30 * HOUR);
    p.expire();
    expect(p.stats().customers).toBe(0);
    expect(p.process(at(30 * 60), 'u:U').accountId).toBe('globex');
    expect(p.process(at(30 * 60 + 1), 'u:U', 'initech').accountId).toBe('initech');
  });

  it('gives every emission of a session a higher version', () => {
    const p = new SessionizerPartition(config);
    const records = [...run(p, [at(0), at(5), at(3, { messageId: 'x' }), at(20)]), ...closeAll(p)];
    const versions = records.filter((r) => r.sessionId === idOf('m@0')).map((r) => r.version);
    expect(versions.length).toBe(5);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(new Set(versions).size).toBe(versions.length);
  });
});

describe('customer merges', () => {
  it('re-attributes the absorbed customer open sessions to the survivor with higher versions', () => {
    const owner = new SessionizerPartition(config);
    const before = run(owner, [at(0), at(5)], 'a:A');
    const bytes = owner.exportCustomer('a:A')!;
    expect(owner.stats()).toMatchObject({ customers: 0, openSessions: 0 });
    expect(owner.dirtyKeys()).toContain('a:A');
    expect(owner.snapshot('a:A')).toBeNull();

    const survivor = new SessionizerPartition(config);
    const moved = survivor.importCustomer('u:U', bytes);
    expect(moved).toMatchObject([{ sessionId: idOf('m@0'), customerId: 'u:U', status: 'updated', eventCount: 2 }]);
    expect(moved[0]!.version).toBeGreaterThan(Math.max(...before.map((r) => r.version)));
    // The survivor now dedupes the absorbed customer's messageIds.
    expect(survivor.process(at(5), 'u:U').duplicate).toBe(true);
  });

  it('coalesces overlapping sessions of the two customers into the earlier one', () => {
    const p = new SessionizerPartition(config);
    run(p, [at(0, { messageId: 'a1' }), at(12, { messageId: 'a2', type: 'group', groupId: 'acme' })], 'a:A');
    run(p, [at(10, { messageId: 'u1' }), at(20, { messageId: 'u2' })], 'u:U');
    const records = p.importCustomer('u:U', p.exportCustomer('a:A')!);
    expect(records.map((r) => [r.sessionId, r.status, r.customerId])).toEqual([
      [idOf('u1'), 'merged', 'u:U'],
      [idOf('a1'), 'updated', 'u:U'],
    ]);
    expect(records[1]).toMatchObject({ startedAt: 0, endedAt: 20 * MIN, eventCount: 4 });
    expect(p.stats()).toMatchObject({ customers: 1, openSessions: 1 });
    expect(p.process(at(21), 'u:U')).toMatchObject({ sessionId: idOf('a1'), accountId: 'acme' });
  });
});

describe('changelog', () => {
  it('restores a customer mid-session and continues exactly as without the restart', () => {
    const events = [at(0), at(5, { url: '/ü' }), at(40), at(3, { messageId: 'x', event: 'order_completed' })];
    const rest = [at(38, { messageId: 'bridge' }), at(50), at(200)];
    const steady = new SessionizerPartition(config);
    run(steady, events);
    steady.process(at(1, { type: 'group', groupId: 'acme' }), 'a:A');
    const restarted = new SessionizerPartition(config);
    for (const key of steady.dirtyKeys()) restarted.restore(key, steady.snapshot(key));
    // duplicates and lateEvents are this process's counters, not state.
    expect({ ...restarted.stats(), lateEvents: 0 }).toEqual({ ...steady.stats(), lateEvents: 0 });
    expect([...run(restarted, rest), ...closeAll(restarted)]).toEqual([...run(steady, rest), ...closeAll(steady)]);
  });

  it('encodes an idle customer in a few dozen bytes', () => {
    const p = new SessionizerPartition(config);
    run(p, [at(0)]);
    p.advanceWatermark(HOUR);
    p.expire();
    const bytes = p.snapshot('a:A')!;
    expect(bytes.length).toBeLessThanOrEqual(48);
    const restarted = new SessionizerPartition(config);
    restarted.restore('a:A', bytes);
    expect(restarted.stats()).toMatchObject({ customers: 1, idleCustomers: 1, watermark: HOUR });
    expect(restarted.process(at(0), 'a:A').duplicate).toBe(true);
  });
});

describe('kept events (the measure of the history lane\'s cap)', () => {
  /** Events kept one by one, counted from the customers' changelog values. */
  const keptBySnapshots = (p: SessionizerPartition, customers: readonly string[]) => {
    const codec = new CustomerCodec();
    let n = 0;
    for (const id of customers) {
      const bytes = p.snapshot(id);
      if (bytes !== null) for (const s of codec.decode(bytes).sessions) n += s.recent.length;
    }
    return n;
  };

  it('keptEvents() equals the events kept in every customer\'s sessions through placing, folding, closing, merging, trimming and restoring', () => {
    const p = new SessionizerPartition(config, { maxRecentIds: 64, maxOpenEvents: 16, maxStateBytes: 1 << 20 });
    const customers = ['a', 'b', 'c', 'd', 'e'];
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n); // the high bits: an LCG's low bits repeat with a short period
    };
    let minute = 0;
    for (let step = 0; step < 3_000; step++) {
      const who = customers[next(customers.length)]!;
      const op = next(100);
      if (op < 80) {
        minute += next(4);
        // Now and then an event a few minutes out of order, or one behind the grace period.
        const t = op < 5 ? minute - 30 : op < 15 ? minute - next(8) : minute;
        p.process(at(t, { messageId: `m${step}` }), who);
      } else if (op < 90) {
        p.advanceWatermark(minute * MIN);
        p.expire();
      } else if (op < 94) {
        const into = customers[next(customers.length)]!;
        const bytes = into === who ? null : p.exportCustomer(who);
        if (bytes !== null) p.importCustomer(into, bytes);
      } else if (op < 97) {
        p.trimToFit(who, 200);
      } else {
        p.restore(who, p.snapshot(who));
      }
      expect(p.keptEvents()).toBe(keptBySnapshots(p, customers));
    }
    expect(p.keptEvents()).toBeGreaterThan(0);
    closeAll(p);
    expect(p.keptEvents()).toBe(0);
  });
});
