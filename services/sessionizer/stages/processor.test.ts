import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../../schemas/event-names.js';
import type { CustomerTouchpoint } from '../../../schemas/journey.js';
import { DAY, HOUR, loadShippedChurnModel, loadShippedStageRules, pageView, T0, touch } from './testing.js';
import { StagesPartition, type ProcessOutput } from './processor.js';
import { encodeJourneyState, JOURNEY_HEADER_BYTES, readJourneyHeader, SnapshotError } from './state-codec.js';
import { defaultStagesCoreConfig, StagesCoreConfig } from './stages-config.js';

const options = { rules: loadShippedStageRules('ecommerce.yaml'), config: defaultStagesCoreConfig(), churn: loadShippedChurnModel() };
const partition = () => new StagesPartition(options);
const feed = (p: StagesPartition, tps: CustomerTouchpoint[]) => tps.map((ctp) => p.process(ctp, ctp.touchpoint.timestamp));

describe('StagesPartition.process', () => {
  it('returns the transitions, funnel events and the first churn score of a new customer', () => {
    const out = partition().process(touch('c1', EVENTS.adClicked, T0), T0);
    expect(out.transitions).toEqual([expect.objectContaining({ customerId: 'c1', toStage: 'awareness' })]);
    expect(out.funnel).toEqual([expect.objectContaining({ kind: 'entry', stage: 'awareness' })]);
    expect(out.churn).toMatchObject({ customerId: 'c1', at: T0, score: 0, stage: 'awareness', crossedThreshold: false });
  });

  it('keeps customers apart', () => {
    const p = partition();
    feed(p, [touch('a', EVENTS.adClicked, T0), touch('b', EVENTS.orderCompleted, T0), touch('a', EVENTS.productViewed, T0 + HOUR)]);
    expect(p.get('a')?.stage).toBe('consideration');
    expect(p.get('b')?.stage).toBe('purchase');
    expect(p.stats()).toMatchObject({ customers: 2, byStage: { awareness: 0, consideration: 1, purchase: 1, retention: 0, advocacy: 0, none: 0 }, touchpoints: 3 });
  });

  it('takes a touchpoint stamped in the future as happening now', () => {
    const p = partition();
    const out = p.process(touch('c1', EVENTS.adClicked, T0 + 30 * DAY), T0);
    expect(out.transitions[0]?.at).toBe(T0);
    expect(p.get('c1')?.lastActivityAt).toBe(T0);
  });
});

describe('StagesPartition.tick', () => {
  it('visits only the customers that are due', () => {
    const p = partition();
    feed(p, [touch('early', EVENTS.adClicked, T0), touch('late', EVENTS.adClicked, T0 + 5 * DAY)]);
    p.tick(T0 + 5 * DAY);
    expect(p.stats().ticked).toBe(1); // 'early' for its daily rescore; 'late' is not due before T0 + 6 days
    expect(p.tick(T0 + 5 * DAY).churn).toEqual([]);
    expect(p.stats().ticked).toBe(1);
  });

  it('emits dropoffs and lapses once, at their deadlines', () => {
    const p = partition();
    feed(p, [touch('shopper', EVENTS.productViewed, T0), touch('loyal', EVENTS.orderCompleted, T0), touch('loyal', EVENTS.orderCompleted, T0 + DAY)]);
    const first = p.tick(T0 + 9 * DAY);
    expect(first.funnel.map((f) => `${f.customerId}:${f.kind}:${f.stage}`).sort()).toEqual(['loyal:dropoff:retention', 'shopper:dropoff:consideration']);
    expect(p.tick(T0 + 9 * DAY).funnel).toEqual([]);
    const lapse = p.tick(T0 + 100 * DAY);
    expect(lapse.transitions).toEqual([expect.objectContaining({ customerId: 'loyal', fromStage: 'retention', toStage: 'consideration', cause: 'lapsed', at: T0 + 91 * DAY })]);
  });

  it('rescores silent customers and flags the threshold crossing', () => {
    const p = partition();
    feed(p, [touch('c1', EVENTS.productViewed, T0)]);
    const crossed = [];
    for (let d = 1; d <= 70; d++) crossed.push(...p.tick(T0 + d * DAY).churn.filter((c) => c.crossedThreshold));
    expect(crossed).toHaveLength(1);
    expect(crossed[0]?.nextAction).toBe('none');
  });

  it('bounds the work of one call with a limit and leaves the rest due', () => {
    const p = partition();
    feed(p, Array.from({ length: 10 }, (_, i) => touch(`c${i}`, EVENTS.productViewed, T0)));
    expect(p.tick(T0 + 8 * DAY, 4).funnel).toHaveLength(4);
    expect(p.tick(T0 + 8 * DAY).funnel).toHaveLength(6);
  });

  it('tells when the next work is due', () => {
    const p = partition();
    expect(p.nextDueAt()).toBeNull();
    feed(p, [touch('c1', EVENTS.orderCompleted, T0)]);
    expect(p.nextDueAt()).toBe(T0 + DAY);
  });
});

describe('identity merges', () => {
  it('moves a journey to the survivor, combining purchase histories and keeping the furthest stage', () => {
    const p = partition();
    feed(p, [
      touch('anon', EVENTS.orderCompleted, T0),
      touch('anon', EVENTS.orderCompleted, T0 + 3 * DAY),
      touch('anon', EVENTS.productShared, T0 + 4 * DAY),
      touch('user', EVENTS.orderCompleted, T0 + 10 * DAY),
      touch('user', EVENTS.productViewed, T0 + 11 * DAY),
    ]);
    p.drainDirty();
    const exported = p.exportCustomer('anon');
    expect(exported).not.toBeNull();
    expect(p.get('anon')).toBeUndefined();
    const out = p.importCustomer('user', exported!);
    const merged = p.get('user')!;
    expect(merged.purchases).toEqual({ firstAt: T0, lastAt: T0 + 10 * DAY, repeatCount: 2 });
    expect(merged).toMatchObject({ customerId: 'user', stage: 'purchase', furthestStage: 'advocacy', lastActivityAt: T0 + 11 * DAY });
    expect(out.transitions).toEqual([]); // the survivor was the more recent, its stage stays
    expect(p.dirtyKeys().sort()).toEqual(['anon', 'user']);
    expect(p.snapshot('anon')).toBeNull();
  });

  it('takes the current stage of the more recently active id and reports the change', () => {
    const p = partition();
    feed(p, [touch('user', EVENTS.adClicked, T0), touch('anon', EVENTS.productViewed, T0 + DAY)]);
    const out = p.importCustomer('user', p.exportCustomer('anon')!);
    expect(out.transitions).toEqual([expect.objectContaining({ customerId: 'user', fromStage: 'awareness', toStage: 'consideration', cause: 'merged' })]);
    expect(out.funnel).toEqual([]);
  });

  it('counts the conversion the survivor missed because the absorbed state arrived after its next event', () => {
    // In one order the survivor's own event converts awareness → consideration; in the other it is
    // first seen at consideration and the absorbed awareness arrives later: count the conversion once either way.
    const early = partition();
    feed(early, [touch('anon', EVENTS.adClicked, T0)]);
    early.importCustomer('user', early.exportCustomer('anon')!);
    const direct = early.process(touch('user', EVENTS.productViewed, T0 + HOUR), T0 + HOUR);
    const late = partition();
    feed(late, [touch('anon', EVENTS.adClicked, T0), touch('user', EVENTS.productViewed, T0 + HOUR)]);
    const out = late.importCustomer('user', late.exportCustomer('anon')!);
    const conversions = (events: typeof out.funnel) => events.filter((e) => e.kind === 'conversion').map((e) => [e.customerId, e.fromStage, e.stage]);
    expect(conversions(direct.funnel)).toEqual([['user', 'awareness', 'consideration']]);
    expect(conversions(out.funnel)).toEqual([['user', 'awareness', 'consideration']]);
  });

  it('adopts the journey when the survivor has none yet', () => {
    const p = partition();
    feed(p, [touch('anon', EVENTS.productViewed, T0)]);
    const out = p.importCustomer('user', p.exportCustomer('anon')!);
    expect(p.get('user')).toMatchObject({ customerId: 'user', stage: 'consideration' });
    expect(out.transitions[0]).toMatchObject({ fromStage: null, toStage: 'consideration', cause: 'merged' });
    expect(p.exportCustomer('nobody')).toBeNull();
  });
});

describe('changelog', () => {
  it('round-trips a customer through snapshot and restore', () => {
    const p = partition();
    feed(p, [touch('c1', EVENTS.orderCompleted, T0), touch('c1', EVENTS.supportTicketOpened, T0 + DAY), pageView('c1', '/account/cancel', T0 + DAY)]);
    const q = partition();
    q.restore('c1', p.snapshot('c1'));
    expect(q.get('c1')).toEqual(p.get('c1'));
    expect(q.dirtyKeys()).toEqual([]);
    expect(q.nextDueAt()).toBe(T0 + 2 * DAY); // the daily churn rescore after the last activity
  });

  it('deletes a customer on a tombstone', () => {
    const p = partition();
    feed(p, [touch('c1', EVENTS.adClicked, T0)]);
    p.restore('c1', null);
    expect(p.get('c1')).toBeUndefined();
    expect(p.tick(T0 + 30 * DAY).churn).toEqual([]);
  });

  it('rejects a corrupt snapshot', () => {
    const p = partition();
    expect(() => p.restore('c1', new TextEncoder().encode('{"v":1,"state":{"customerId":3}}'))).toThrow(SnapshotError);
    expect(() => p.restore('c1', new TextEncoder().encode('{"v":99}'))).toThrow(/version 99/);
    expect(() => p.restore('c1', new Uint8Array([0xff, 0xfe]))).toThrow(SnapshotError);
  });

  it('drains dirty customers with their snapshots in one step', () => {
    const p = partition();
    feed(p, [touch('a', EVENTS.adClicked, T0), touch('b', EVENTS.adClicked, T0)]);
    expect(p.dirtyKeys().sort()).toEqual(['a', 'b']);
    const records = p.drainDirty();
    expect(records.map((r) => r.customerId).sort()).toEqual(['a', 'b']);
    expect(records.every((r) => r.snapshot instanceof Uint8Array)).toBe(true);
    expect(p.dirtyKeys()).toEqual([]);
    p.tick(T0 + HOUR); // nothing due: nothing changes
    expect(p.dirtyKeys()).toEqual([]);
  });

  it('writes no changelog record for a rescore that emits nothing', () => {
    const p = partition();
    feed(p, [touch('c1', EVENTS.productViewed, T0)]);
    p.drainDirty();
    expect(p.tick(T0 + DAY + 1).churn).toEqual([]); // a day of silence moves the score by < minDelta
    expect(p.stats().ticked).toBe(1);
    expect(p.dirtyKeys()).toEqual([]);
    expect(p.tick(T0 + 4 * DAY).churn).toHaveLength(1);
    expect(p.dirtyKeys()).toEqual(['c1']);
  });

  it('continues identically after a restore, whatever the history (property)', () => {
    const events = [EVENTS.adClicked, EVENTS.productViewed, EVENTS.productAdded, EVENTS.orderCompleted, EVENTS.featureUsed, EVENTS.npsSubmitted, EVENTS.paymentFailed];
    const arb = fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.constantFrom(...events), fc.integer({ min: 0, max: 20 * 24 })), { minLength: 2, maxLength: 40 });
    fc.assert(
      fc.property(arb, fc.nat(), (steps, cut) => {
        let at = T0;
        const tps = steps.map(([c, e, gap], i) => touch(c, e, (at += gap * HOUR), { messageId: `m${i}`, props: { score: 5 } }));
        const split = cut % tps.length;
        const original = partition();
        feed(original, tps.slice(0, split));
        const restored = partition();
        for (const id of ['a', 'b', 'c']) {
          const snap = original.snapshot(id);
          if (snap) restored.restore(id, snap);
        }
        const rest = tps.slice(split);
        expect(feed(restored, rest)).toEqual(feed(original, rest));
        // Customers due together may come out in another order; each customer's own events may not.
        const byCustomer = (out: ReturnType<StagesPartition['tick']>) => {
          const sort = <T extends { customerId: string }>(xs: T[]) => [...xs].sort((x, y) => x.customerId.localeCompare(y.customerId));
          return { transitions: sort(out.transitions), funnel: sort(out.funnel), churn: sort(out.churn) };
        };
        expect(byCustomer(restored.tick(at + 200 * DAY))).toEqual(byCustomer(original.tick(at + 200 * DAY)));
      }),
      { numRuns: 50 },
    );
  });
});

describe('journeys kept encoded (a restore, the idle round)', () => {
  /** A value with a valid header and an unreadable body: any decode of it throws. */
  const undecodable = (lastActivityAt: number, dueAt: number | null) => {
    const p = partition();
    feed(p, [touch('c1', EVENTS.adClicked, lastActivityAt)]);
    const value = Buffer.from(p.snapshot('c1')!);
    const header = readJourneyHeader(value)!;
    const out = Buffer.alloc(JOURNEY_HEADER_BYTES + 3, 0xff);
    value.copy(out, 0, 0, JOURNEY_HEADER_BYTES);
    out.writeDoubleLE(dueAt ?? Number.NaN, 2);
    return { value: out, schedule: header.schedule };
  };

  it('a restore decodes no journey: it schedules from the value’s header, and writes an untouched customer back as the same bytes', () => {
    const { value } = undecodable(T0, T0 + DAY);
    const p = partition();
    p.restore('c1', value);
    expect(p.stats()).toMatchObject({ customers: 1, encoded: 1, byStage: { awareness: 1 } });
    expect(p.nextDueAt()).toBe(T0 + DAY);
    expect(p.lastActivityAt('c1')).toBe(T0);
    expect(Buffer.from(p.snapshot('c1')!)).toEqual(value);
    // Its first access decodes it, and fails loudly as the restore used to.
    expect(() => p.get('c1')).toThrow(SnapshotError);
  });

  it('keeps a restored journey without the customer id its key repeats, and writes it back as the same bytes', () => {
    const p = partition();
    feed(p, [touch('c1', EVENTS.adClicked, T0)]);
    const value = Buffer.from(p.snapshot('c1')!);
    const q = partition();
    q.restore('c1', value);
    // Under another key (not a case the journey step makes), the id is kept.
    q.restore('other', value);
    expect(q.stats()).toMatchObject({ customers: 2, encoded: 2 });
    expect(Buffer.from(q.snapshot('c1')!)).toEqual(value);
    expect(Buffer.from(q.snapshot('other')!)).toEqual(value);
    expect(q.get('c1')).toEqual(p.get('c1'));
    expect(q.get('other')!.customerId).toBe('c1');
  });

  it('the idle round finds an idle restored customer, and eviction removes it, without decoding it', () => {
    const { value } = undecodable(T0, null);
    const p = partition();
    p.restore('c1', value);
    expect(p.idleCustomers(T0 - DAY, 10, true)).toEqual([]);
    expect(p.idleCustomers(T0 + DAY, 10, true)).toEqual(['c1']);
    p.remove('c1');
    expect(p.stats().customers).toBe(0);
    expect(p.drainDirty()).toEqual([{ customerId: 'c1', snapshot: null }]);
  });

  it('decodes a restored journey at its first touchpoint and keeps it decoded; the idle round encodes it again once it has been quiet', () => {
    const p = partition();
    feed(p, [touch('a', EVENTS.adClicked, T0), touch('b', EVENTS.orderCompleted, T0)]);
    const q = partition();
    for (const id of ['a', 'b']) q.restore(id, p.snapshot(id));
    expect(q.stats().encoded).toBe(2);
    const next = touch('a', EVENTS.productViewed, T0 + HOUR);
    expect(q.process(next, T0 + HOUR)).toEqual(p.process(next, T0 + HOUR));
    expect(q.stats().encoded).toBe(1);
    // Quiet since T0 + HOUR: not yet at T0 (kept decoded), encoded at T0 + 2 HOUR.
    q.idleCustomers(-Infinity, 10, true, T0);
    expect(q.stats().encoded).toBe(1);
    q.idleCustomers(-Infinity, 10, true, T0 + 2 * HOUR);
    expect(q.stats().encoded).toBe(2);
    expect(q.get('a')).toEqual(p.get('a'));
    expect(q.snapshot('b')).toEqual(p.snapshot('b'));
  });

  it('frees a journey’s encoded bytes when it is decoded, replaced or removed, and compacts them once most are freed', () => {
    const p = partition();
    feed(p, [touch('c1', EVENTS.adClicked, T0)]);
    const value = Buffer.from(p.snapshot('c1')!);
    const q = partition();
    const n = 100_000;
    for (let i = 0; i < n; i++) q.restore(`k${i}`, value);
    const full = q.stats().encodedBytes;
    const entry = full / n;
    // Restored again (a key the changelog repeats), decoded, removed: each frees its entry.
    q.restore('k0', value);
    q.get('k1');
    q.remove('k2');
    expect(q.stats()).toMatchObject({ encoded: n - 2, encodedBytes: full - 2 * entry, encodedWasteBytes: 3 * entry });
    // Tombstones for most: once the freed bytes are half the live ones (and 8 MiB), a compaction keeps only the live.
    for (let i = 3; i < 0.7 * n; i++) q.restore(`k${i}`, null);
    const after = q.stats();
    expect(after.customers).toBe(n - 0.7 * n + 2);
    expect(after.encodedBytes).toBe(after.encoded * entry);
    expect(after.encodedWasteBytes).toBeLessThan(8 * 2 ** 20);
    expect(after.encodedWasteBytes).toBeLessThan(full - after.encodedBytes);
    for (const id of ['k0', `k${0.7 * n}`, `k${n - 1}`]) expect(Buffer.from(q.snapshot(id)!)).toEqual(value);
    // Its customer id is not its key (not a case the journey step makes): all entries are one size.
    expect(q.get(`k${n - 1}`)).toEqual(p.get('c1'));
  });

  it('a value scheduled under other settings is decoded at restore and scheduled under the current ones', () => {
    const p = partition();
    feed(p, [touch('c1', EVENTS.productViewed, T0)]);
    const everyTwoDays = StagesCoreConfig.parse({ churn: { rescoreEveryMs: 2 * DAY } });
    const q = new StagesPartition({ ...options, config: everyTwoDays });
    q.restore('c1', p.snapshot('c1'));
    expect(p.nextDueAt()).toBe(T0 + DAY);
    expect(q.nextDueAt()).toBe(T0 + 2 * DAY);
    expect(readJourneyHeader(q.snapshot('c1')!)?.dueAt).toBe(T0 + 2 * DAY);
  });

  it('restores a value written before the header (format 2) and writes it in format 3', () => {
    const p = partition();
    feed(p, [touch('c1', EVENTS.orderCompleted, T0)]);
    const q = partition();
    q.restore('c1', encodeJourneyState(p.get('c1')!));
    expect(q.get('c1')).toEqual(p.get('c1'));
    expect(q.nextDueAt()).toBe(p.nextDueAt());
    expect(q.snapshot('c1')).toEqual(p.snapshot('c1'));
  });

  it('keeping journeys encoded between steps changes no output and no value (property)', () => {
    const events = [EVENTS.adClicked, EVENTS.productViewed, EVENTS.productAdded, EVENTS.orderCompleted, EVENTS.featureUsed, EVENTS.npsSubmitted, EVENTS.paymentFailed, EVENTS.supportTicketOpened];
    const step = fc.oneof(
      fc.tuple(fc.constant('touch' as const), fc.constantFrom('a', 'b', 'c'), fc.constantFrom(...events), fc.integer({ min: 0, max: 5 * 24 })),
      fc.tuple(fc.constant('tick' as const), fc.constant(''), fc.constant(''), fc.integer({ min: 1, max: 60 * 24 })),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const decoded = partition();
        const encoded = partition();
        let at = T0;
        steps.forEach(([kind, c, e, gap], i) => {
          at += gap * HOUR;
          if (kind === 'touch') {
            const tp = touch(c, e, at, { messageId: `m${i}`, props: { score: 5 } });
            expect(encoded.process(tp, at)).toEqual(decoded.process(tp, at));
          } else expect(encoded.tick(at)).toEqual(decoded.tick(at));
          encoded.idleCustomers(-Infinity, Infinity, true, Infinity); // every journey encoded again
          expect(encoded.stats().encoded).toBe(encoded.stats().customers);
        });
        for (const id of ['a', 'b', 'c']) expect(encoded.snapshot(id)).toEqual(decoded.snapshot(id));
        expect(encoded.takeDirtyKeys().sort()).toEqual(decoded.takeDirtyKeys().sort());
      }),
      { numRuns: 60 },
    );
  });
});

describe('identity merges: arrival order of the absorbed journey', () => {
  // The absorbed id's state reaches the survivor's partition at a moment that depends on timing
  // between partitions. Whatever the moment, the funnel rows left after ReplacingMergeTree's
  // dedup (last version per event id) must be the same.
  const finalRows = (events: ProcessOutput['funnel']) => {
    const byId = new Map(events.map((e) => [e.eventId, e]));
    return [...byId.values()].map((e) => `${e.kind}|${e.stage}|${e.customerId}|${e.fromStage}|${e.at}`).sort();
  };
  const anon = [touch('anon', EVENTS.adClicked, T0), pageView('anon', '/', T0 + 1_000)];
  const survivor = [
    touch('user', 'identify', T0 + 2_000, { type: 'identify' }),
    touch('user', EVENTS.productViewed, T0 + HOUR),
    touch('user', EVENTS.productViewed, T0 + 2 * HOUR),
  ];

  /** The final rows for every position of the transfer among the survivor's touchpoints. */
  const outcomesOf = (absorbed: typeof anon) => {
    const outcomes = new Set<string>();
    for (let k = 0; k <= survivor.length; k++) {
      const p = partition();
      const events: ProcessOutput['funnel'] = [];
      for (const ctp of absorbed) events.push(...p.process(ctp, ctp.touchpoint.timestamp).funnel);
      const exported = p.exportCustomer('anon')!;
      survivor.forEach((ctp, i) => {
        if (i === k) events.push(...p.importCustomer('user', exported).funnel);
        events.push(...p.process(ctp, ctp.touchpoint.timestamp).funnel);
      });
      if (k === survivor.length) events.push(...p.importCustomer('user', exported).funnel);
      outcomes.add(finalRows(events).join('\n'));
      expect(p.get('user')?.stage).toBe('consideration');
    }
    return [...outcomes];
  };

  it('leaves the same funnel rows whichever survivor event the transfer follows', () => {
    const outcomes = outcomesOf(anon);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toContain('conversion|consideration|user|awareness');
  });

  it('also when the absorbed id had already reached the survivor’s first stage', () => {
    const outcomes = outcomesOf([touch('anon', EVENTS.adClicked, T0), touch('anon', EVENTS.productViewed, T0 + 1_000)]);
    expect(outcomes).toHaveLength(1);
    // The survivor's first classified touchpoint is its own entry, in every order.
    expect(outcomes[0]).toContain(`entry|consideration|user|null|${T0 + HOUR}`);
  });
});

describe('identity merges: several absorbed ids', () => {
  // One person on two devices before logging in: `recent` reached consideration, `early` was only
  // aware, earlier. Their journeys reach the survivor in an order that is timing between partitions.
  const rowsFor = (order: Array<'recent' | 'early' | 'own'>) => {
    const p = partition();
    const events: ProcessOutput['funnel'] = [];
    feed(p, [touch('early', EVENTS.adClicked, T0), touch('recent', EVENTS.productViewed, T0 + HOUR)]);
    const exported = { early: p.exportCustomer('early')!, recent: p.exportCustomer('recent')! };
    for (const step of order) {
      if (step === 'own') events.push(...p.process(touch('user', EVENTS.productViewed, T0 + 2 * HOUR), T0 + 2 * HOUR).funnel);
      else events.push(...p.importCustomer('user', exported[step]).funnel);
    }
    const byId = new Map(events.map((e) => [e.eventId, e]));
    return { rows: [...byId.values()].map((e) => `${e.kind}|${e.stage}|${e.fromStage}|${e.at}`).sort(), state: p.get('user') };
  };

  it('merge their journeys into the same state and funnel rows in either order', () => {
    const a = rowsFor(['recent', 'early', 'own']);
    const b = rowsFor(['early', 'recent', 'own']);
    expect(b.rows).toEqual(a.rows);
    expect(b.state).toEqual(a.state);
    // The survivor inherited consideration: its first touchpoint is its own entry, no conversion.
    expect(a.rows).toEqual([`entry|consideration|null|${T0 + 2 * HOUR}`]);
  });

  it('count a late conversion into the survivor’s own opening stage once, whichever comes first', () => {
    const a = rowsFor(['own', 'recent', 'early']);
    const b = rowsFor(['own', 'early', 'recent']);
    expect(b.rows).toEqual(a.rows);
    expect(a.rows.filter((r) => r.startsWith('conversion'))).toEqual([`conversion|consideration|awareness|${T0 + 2 * HOUR}`]);
  });
});
