import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SessionRecord } from '../../../schemas/journey.js';
import { SessionizerPartition } from './partition.js';
import { sessionizerConfig } from './sessions.js';
import { stageByEventName, touchpoint } from './test-touchpoint.js';

const MIN = 60_000;
const config = sessionizerConfig(stageByEventName);

describe('merging customers across partitions', () => {
  it('places on-time events of the survivor that precede the imported, already folded events by union', () => {
    const ahead = new SessionizerPartition(config);
    for (const m of [100, 105, 110, 125, 130]) ahead.process(touchpoint({ messageId: `a${m}`, timestamp: m * MIN }), 'a:A');
    const behind = new SessionizerPartition(config);
    for (const m of [40, 50]) behind.process(touchpoint({ messageId: `u${m}`, timestamp: m * MIN }), 'u:U');
    // A Kafka value arrives as a slice of a pooled Buffer: decoding must honour its byteOffset.
    const exported = ahead.exportCustomer('a:A')!;
    const pooled = Buffer.concat([Buffer.from('padding'), Buffer.from(exported)]).subarray(7);
    behind.importCustomer('u:U', pooled);

    const joinsEarlier = behind.process(touchpoint({ messageId: 'u60', timestamp: 60 * MIN }), 'u:U');
    expect(joinsEarlier.sessions).toMatchObject([{ startedAt: 40 * MIN, endedAt: 60 * MIN, eventCount: 3, status: 'updated' }]);
    const extendsLater = behind.process(touchpoint({ messageId: 'u95', timestamp: 95 * MIN }), 'u:U');
    expect(extendsLater.sessions.map((r) => [r.status, r.startedAt / MIN, r.endedAt / MIN, r.eventCount])).toEqual([
      ['merged', 100, 130, 5],
      ['opened', 95, 130, 6],
    ]);
    expect(extendsLater.sessionId).toBe(extendsLater.sessions[1]!.sessionId);
    expect(behind.stats()).toMatchObject({ customers: 1, openSessions: 2 });
  });
});

const small = sessionizerConfig(stageByEventName, { inactivityGapMs: 1_000, maxSessionMs: 3_000, graceMs: 500, dedupWindowMs: 10_000_000 });

const scenarioArb = fc.record({
  events: fc.array(
    fc.record({
      customer: fc.nat(3),
      step: fc.integer({ min: 0, max: 600 }),
      delay: fc.integer({ min: 0, max: small.graceMs }),
      redeliver: fc.boolean(),
    }),
    { minLength: 1, maxLength: 80 },
  ),
  merges: fc.array(fc.record({ at: fc.nat(100), from: fc.nat(3), into: fc.nat(3) }), { maxLength: 4 }),
  expireEvery: fc.integer({ min: 1, max: 6 }),
});

describe('customer merge properties', () => {
  it('loses and double-counts no event, and keeps versions increasing, whatever merges happen', () => {
    fc.assert(
      fc.property(scenarioArb, ({ events, merges, expireEvery }) => {
        let t = 0;
        const arrivals = events.flatMap((e, i) => {
          t += e.step;
          const tp = touchpoint({ messageId: `m${i}`, anonymousId: `A${e.customer}`, timestamp: t });
          const copies = [{ tp, customer: e.customer, at: t + e.delay }];
          if (e.redeliver) copies.push({ tp, customer: e.customer, at: t + small.graceMs + e.step });
          return copies;
        });
        arrivals.sort((x, y) => x.at - y.at);

        const p = new SessionizerPartition(small);
        const canonical = [0, 1, 2, 3];
        const records: SessionRecord[] = [];
        let placed = 0;
        arrivals.forEach(({ tp, customer }, i) => {
          for (const m of merges.filter((x) => x.at === i)) {
            const from = canonical[m.from]!;
            const into = canonical[m.into]!;
            if (from === into) continue;
            const state = p.exportCustomer(`c${from}`);
            if (state) records.push(...p.importCustomer(`c${into}`, state));
            for (let c = 0; c < canonical.length; c++) if (canonical[c] === from) canonical[c] = into;
          }
          const result = p.process(tp, `c${canonical[customer]}`);
          if (!result.duplicate && !result.late) placed++;
          records.push(...result.sessions);
          if (i % expireEvery === 0) records.push(...p.expire());
        });
        p.advanceWatermark(p.watermark + 10_000);
        records.push(...p.expire());

        const last = new Map<string, SessionRecord>();
        for (const r of records) {
          const prev = last.get(r.sessionId);
          if (prev) expect(r.version).toBeGreaterThan(prev.version);
          last.set(r.sessionId, r);
        }
        const final = [...last.values()];
        expect(final.every((r) => r.status === 'closed' || r.status === 'merged')).toBe(true);
        const counted = final.filter((r) => r.status === 'closed').reduce((n, r) => n + r.eventCount, 0);
        expect(counted).toBe(placed);
        expect(placed).toBe(new Set(arrivals.map((a) => a.tp.messageId)).size);
        expect(p.stats().openSessions).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
