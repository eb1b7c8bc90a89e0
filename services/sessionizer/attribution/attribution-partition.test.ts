import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttributionCredit, CustomerTouchpoint } from '../../../schemas/journey.js';
import { makeTouchpoint } from '../../../schemas/test-touchpoint.js';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { HEURISTIC_MODELS, heuristicCredit, type Touch } from '../../platform/attribution/heuristic.js';
import { AttributionPartition, DEFAULT_ATTRIBUTION_OPTIONS } from './attribution-partition.js';
import { AttributionStateError, decodeAttributionState, encodeAttributionState as encodeCompact } from './attribution-state-codec.js';
import { CustomerAttribution, type AttributionState } from './attribution-state.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const LOOKBACK = DEFAULT_ATTRIBUTION_OPTIONS.lookbackMs;

const ctp = (customerId: string, o: Partial<Touchpoint>): CustomerTouchpoint => ({
  customerId,
  accountId: null,
  sessionId: 's',
  late: false,
  touchpoint: makeTouchpoint({ site: 'shop', receivedAt: o.timestamp, ...o }),
});
const touch = (customerId: string, messageId: string, channel: string, at: number, campaign: string | null = null) =>
  ctp(customerId, { messageId, channel: channel as Touchpoint['channel'], timestamp: at, event: 'Ad Clicked', utmCampaign: campaign });
const order = (customerId: string, messageId: string, at: number, revenue: number | null = 100) => ctp(customerId, { messageId, channel: 'other', timestamp: at, event: 'Order Completed', revenue });

/** Rows as `model touch credit version`, credit to 6 places. */
const rowsOf = (rows: AttributionCredit[]) => rows.map((r) => `${r.model} ${r.touchMessageId} ${Number(r.credit.toFixed(6))} v${r.version}`);
/** The newest row per (conversion, model, touch), as ReplacingMergeTree(version) keeps it. */
const newest = (rows: AttributionCredit[]) => {
  const out = new Map<string, AttributionCredit>();
  for (const r of rows) {
    const key = `${r.conversionId}|${r.model}|${r.touchMessageId}`;
    const old = out.get(key);
    if (!old || r.version >= old.version) out.set(key, r);
  }
  return out;
};

/** The codec on plain states: a state is held compact (CustomerAttribution) and shown as objects. */
const encodeAttributionState = (state: AttributionState) => encodeCompact(CustomerAttribution.of(state));
const decodeToView = (bytes: Uint8Array) => decodeAttributionState(bytes).view();

describe('attribution in the journey step: a conversion', () => {
  it('emits the rows of every model for the touches of its window, versioned by their count', () => {
    const p = new AttributionPartition();
    expect(p.process(touch('u', 't1', 'search', T0))).toEqual([]);
    expect(p.process(ctp('u', { messageId: 'w', channel: 'web', timestamp: T0 + 1, event: 'Product Viewed' }))).toEqual([]); // in-site navigation: not a touch
    expect(p.process(touch('u', 't2', 'email', T0 + 2 * DAY, 'spring'))).toEqual([]);
    expect(p.process(ctp('u', { messageId: 'x', channel: 'ads', site: 'blog', timestamp: T0 + 3 * DAY }))).toEqual([]); // another site's touch
    const rows = p.process(order('u', 'o1', T0 + 4 * DAY, 80));
    expect(rows).toHaveLength(HEURISTIC_MODELS.length * 2);
    expect(rowsOf(rows)).toEqual([
      'first_touch t1 1 v2', 'first_touch t2 0 v2',
      'last_touch t1 0 v2', 'last_touch t2 1 v2',
      'linear t1 0.5 v2', 'linear t2 0.5 v2',
      'position_based t1 0.5 v2', 'position_based t2 0.5 v2',
      `time_decay t1 ${Number((2 ** -(4 / 7) / (2 ** -(4 / 7) + 2 ** -(2 / 7))).toFixed(6))} v2`,
      `time_decay t2 ${Number((2 ** -(2 / 7) / (2 ** -(4 / 7) + 2 ** -(2 / 7))).toFixed(6))} v2`,
    ]);
    expect(rows[1]).toEqual({
      conversionId: 'o1', customerId: 'u', site: 'shop', convertedAt: T0 + 4 * DAY, model: 'first_touch', touchMessageId: 't2',
      channel: 'email', campaign: 'spring', touchAt: T0 + 2 * DAY, credit: 0, revenueShare: 0, version: 2,
    });
    expect(rows.filter((r) => r.model === 'linear').map((r) => r.revenueShare)).toEqual([40, 40]);
  });

  it('credits exactly the lookback: a touch exactly 30 days before and one in the same millisecond count, one a millisecond earlier not', () => {
    const p = new AttributionPartition();
    const at = T0 + 40 * DAY;
    p.process(touch('u', 'too-early', 'ads', at - LOOKBACK - 1));
    p.process(touch('u', 'edge', 'search', at - LOOKBACK));
    p.process(touch('u', 'same-ms', 'email', at));
    expect(rowsOf(p.process(order('u', 'o', at)).filter((r) => r.model === 'first_touch'))).toEqual(['first_touch edge 1 v2', 'first_touch same-ms 0 v2']);
  });

  it('leaves a conversion without touches unattributed (no rows), and attributes it once a late touch comes', () => {
    const p = new AttributionPartition();
    expect(p.process(order('u', 'o', T0 + DAY))).toEqual([]);
    expect(rowsOf(p.process(touch('u', 'late', 'social', T0)).filter((r) => r.model === 'linear'))).toEqual(['linear late 1 v1']);
  });
});

describe('attribution in the journey step: late touches', () => {
  it('a late touch inside a conversion’s window attributes it again: every earlier key with a higher version, plus the new one', () => {
    const p = new AttributionPartition();
    p.process(touch('u', 't2', 'email', T0 + 2 * DAY));
    const first = p.process(order('u', 'o', T0 + 3 * DAY));
    const corrected = p.process(touch('u', 't1', 'search', T0 + DAY)); // came after the order
    expect(rowsOf(corrected.filter((r) => r.model === 'first_touch'))).toEqual(['first_touch t1 1 v2', 'first_touch t2 0 v2']);
    for (const old of first) expect(corrected.some((r) => r.model === old.model && r.touchMessageId === old.touchMessageId && r.version > old.version)).toBe(true);
  });

  it('a late touch outside every window, or after the conversion, changes nothing', () => {
    const p = new AttributionPartition();
    p.process(touch('u', 't', 'email', T0 + 35 * DAY));
    p.process(order('u', 'o', T0 + 40 * DAY));
    expect(p.process(touch('u', 'old', 'search', T0 + 40 * DAY - LOOKBACK - 1))).toEqual([]);
    expect(p.process(touch('u', 'after', 'search', T0 + 41 * DAY))).toEqual([]);
  });

  it('is exact whatever the arrival order within the correction horizon: the newest rows are the batch credit over every touch (property)', () => {
    const event = fc.record({ kind: fc.constantFrom('touch', 'touch', 'touch', 'order'), day: fc.integer({ min: 0, max: 29 }), channel: fc.constantFrom('search', 'email', 'ads', 'social') });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 25 }), fc.integer(), (events, seed) => {
        const items = events.map((e, i) => ({ ...e, id: `e${String(i).padStart(2, '0')}`, at: T0 + e.day * DAY + i }));
        // Arrival: time order with some events moved later (late), by a seeded shuffle of a few.
        const arrival = [...items].sort((a, b) => a.at - b.at);
        let s = seed >>> 0;
        for (let k = 0; k < 3 && arrival.length > 1; k++) {
          s = (s * 1103515245 + 12345) >>> 0;
          const i = s % arrival.length;
          const [moved] = arrival.splice(i, 1);
          arrival.splice(Math.min(arrival.length, i + 1 + (s % 5)), 0, moved!);
        }
        const p = new AttributionPartition();
        const rows = arrival.flatMap((e) => p.process(e.kind === 'order' ? order('u', e.id, e.at) : touch('u', e.id, e.channel, e.at)));
        // Batch: every conversion against every touch. Every event comes less than the correction horizon
        // (30 days) behind the customer's clock, so every conversion is still corrected.
        const touches: Touch[] = items.filter((e) => e.kind === 'touch').map((e) => ({ messageId: e.id, channel: e.channel, campaign: null, at: e.at }));
        const expected = new Map<string, number>();
        for (const o of items.filter((e) => e.kind === 'order')) {
          for (const model of HEURISTIC_MODELS) {
            for (const c of heuristicCredit(model, { id: o.id, at: o.at, revenue: 100 }, touches)) expected.set(`${o.id}|${model}|${c.touch.messageId}`, c.credit);
          }
        }
        const got = newest(rows);
        expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
        for (const [key, credit] of expected) expect(got.get(key)!.credit).toBeCloseTo(credit, 12);
      }),
      { numRuns: 200 },
    );
  });
});

describe('attribution in the journey step: identity merges', () => {
  it('an absorbed id’s touches count for the survivor’s conversions, earlier ones attributed again, and its own conversion keeps its id', () => {
    const device = new AttributionPartition();
    device.process(touch('a:x', 'a1', 'social', T0));
    device.process(order('a:x', 'anon-order', T0 + 2 * DAY));
    device.process(touch('a:x', 'a2', 'ads', T0 + 5 * DAY));
    const exported = device.exportCustomer('a:x')!;
    expect(device.get('a:x')).toBeUndefined();

    const user = new AttributionPartition();
    user.process(touch('u:1', 'u1', 'email', T0 + DAY));
    const before = user.process(order('u:1', 'user-order', T0 + 6 * DAY));
    expect(rowsOf(before.filter((r) => r.model === 'position_based'))).toEqual(['position_based u1 1 v1']);
    const merged = user.importCustomer('u:1', exported);
    const byConversion = (id: string, model = 'position_based') => rowsOf(merged.filter((r) => r.conversionId === id && r.model === model));
    expect(byConversion('user-order')).toEqual(['position_based a1 0.4 v3', 'position_based u1 0.2 v3', 'position_based a2 0.4 v3']);
    expect(byConversion('anon-order')).toEqual(['position_based a1 0.5 v2', 'position_based u1 0.5 v2']);
    expect(new Set(merged.filter((r) => r.conversionId === 'anon-order').map((r) => r.customerId))).toEqual(new Set(['a:x']));
    expect(new Set(merged.filter((r) => r.conversionId === 'user-order').map((r) => r.customerId))).toEqual(new Set(['u:1']));
    // The merged customer's next conversion counts both ids' touches.
    expect(rowsOf(user.process(order('u:1', 'next', T0 + 7 * DAY)).filter((r) => r.model === 'linear'))).toHaveLength(3);
  });

  it('a merge that adds nothing to a conversion’s window emits nothing for it; the same touch on both sides counts once', () => {
    const device = new AttributionPartition();
    device.process(touch('a:x', 'shared', 'social', T0));
    const user = new AttributionPartition();
    user.process(touch('u:1', 'shared', 'social', T0));
    user.process(order('u:1', 'o', T0 + DAY));
    expect(user.importCustomer('u:1', device.exportCustomer('a:x')!)).toEqual([]);
    expect(user.get('u:1')!.touches).toHaveLength(1);
  });
});

describe('attribution in the journey step: bounded state', () => {
  it('keeps at most maxTouches touches, the latest, and stops correcting a conversion whose window lost one', () => {
    const bounded: number[] = [];
    const p = new AttributionPartition({ ...DEFAULT_ATTRIBUTION_OPTIONS, maxTouches: 8 }, { bounded: (n) => bounded.push(n) });
    for (let i = 0; i < 6; i++) p.process(touch('u', `t${i}`, 'ads', T0 + i * 60_000));
    expect(p.process(order('u', 'o', T0 + DAY)).filter((r) => r.model === 'linear')).toHaveLength(6);
    for (let i = 6; i < 20; i++) p.process(touch('u', `t${i}`, 'email', T0 + DAY + i * 60_000));
    const state = p.get('u')!;
    expect(state.touches.map((t) => t.messageId)).toEqual(['t12', 't13', 't14', 't15', 't16', 't17', 't18', 't19']);
    expect(state.conversions).toEqual([]); // its window lost t0.. t5: its rows stay as last written
    expect(bounded.reduce((a, b) => a + b, 0)).toBe(12);
    expect(p.process(touch('u', 'late', 'search', T0 + 30_000))).toEqual([]);
  });

  it('drops touches by event time once no conversion that can still be corrected could count them', () => {
    const p = new AttributionPartition();
    p.process(touch('u', 'old', 'ads', T0));
    p.process(touch('u', 'recent', 'ads', T0 + 59 * DAY));
    expect(p.get('u')!.touches.map((t) => t.messageId)).toEqual(['old', 'recent']); // 59 days: still within lookback + correction
    p.process(touch('u', 'now', 'ads', T0 + 61 * DAY));
    expect(p.get('u')!.touches.map((t) => t.messageId)).toEqual(['recent', 'now']);
    p.process(order('u', 'o', T0 + 61 * DAY));
    p.process(touch('u', 'later', 'ads', T0 + 92 * DAY)); // the order is 31 days behind the clock: no longer corrected
    expect(p.get('u')!.conversions).toEqual([]);
  });

  it('keeps a customer’s state small: 64 touches with 36-character ids in under 4 KiB', () => {
    const p = new AttributionPartition();
    for (let i = 0; i < 500; i++) p.process(touch('u', `0c4b1a52-7d3e-4f0a-9b6e-${String(i).padStart(12, '0')}`, i % 2 ? 'email' : 'ads', T0 + i * 3_600_000, i % 3 ? 'spring-sale' : null));
    p.process(order('u', 'o', T0 + 500 * 3_600_000));
    expect(p.get('u')!.touches).toHaveLength(64);
    expect(p.snapshot('u')!.length).toBeLessThan(4096);
  });
});

describe('attribution state codec', () => {
  it('round-trips a state with touches, campaigns, sites, conversions with and without revenue', () => {
    const p = new AttributionPartition();
    p.process(touch('u', 't1', 'search', T0, 'spring'));
    p.process(touch('u', 't2', 'email', T0 + 1000));
    p.process(ctp('u', { messageId: 't3', channel: 'ads', site: 'blog', timestamp: T0 + 500, event: 'Ad Clicked' }));
    p.process(order('u', 'o1', T0 + DAY, 12.5));
    p.process(order('u', 'o2', T0 + 2 * DAY, null));
    const state = p.get('u')!;
    expect(decodeToView(encodeAttributionState(state))).toEqual(state);
    const restored = new AttributionPartition();
    restored.restore('u', p.snapshot('u'));
    expect(restored.get('u')).toEqual(state);
    // Both behave alike from here.
    expect(restored.process(touch('u', 'late', 'social', T0 + 2000))).toEqual(p.process(touch('u', 'late', 'social', T0 + 2000)));
  });

  it('round-trips strings of every kind (ASCII, non-ASCII after ASCII, 128+ characters), each encode on its own strings', () => {
    const long = 'x'.repeat(130);
    const first = {
      clock: T0,
      touches: [
        { messageId: 'abc-déjà-vu', at: T0 - 5, channel: 'ads', campaign: 'été 2026 ☀', site: long },
        { messageId: long + 'é', at: T0, channel: 'email', campaign: null, site: 'shop' },
      ],
      conversions: [{ id: 'o', at: T0, revenue: 3, site: long, customerId: 'kund-ö' }],
    };
    const second = { clock: T0, touches: [{ messageId: 'm', at: T0, channel: 'search', campaign: null, site: 'blog' }], conversions: [] };
    const a = encodeAttributionState(first);
    const b = encodeAttributionState(second);
    expect(decodeToView(a)).toEqual(first);
    expect(decodeToView(b)).toEqual(second);
    // The second value holds none of the first one's strings.
    expect(b.length).toBeLessThan(40);
  });

  it('writes the bytes format 1 always had, and goes on alike from bytes written before the state was held compact (fixture of d475a21)', () => {
    // Written by d475a21 (touches as objects) for these events: a late touch, two sites, campaigns and
    // none, conversions with and without revenue, touches dropped by age and by the bound.
    const written = {
      mid: '0180f0d7bdb46809036164730677696e7465720473686f7006736f6369616c06737072696e670673656172636805656d61696c04626c6f67017504ffcf98f70100020205742d6f6c6480b8992903050202743080b8992905050202743180f0b25206000702743201000208010000000000002940026f31',
      bounded: '01c0c8ad85dd680b067365617263680263340473686f7005656d61696c026335026336026337026338026339036331300363313108bfa233000202027434c0a907030502027435c0a907000602027436c0a907030702027437c0a907000802027438c0a907030902027439c0a907000a0203743130c0a907030b020374313100',
      last: '0182f08fd7dd680d05656d61696c0263350473686f7006736561726368026336026337026338026339036331300363313108726566657272616c06737072696e67017508c1a08e52000202027435c0a907030502027436c0a907000602027437c0a907030702027438c0a907000802027439c0a90703090203743130c0a907000a0203743131c0a7e2510a0c02037431320100020c010000000000c05840026f33',
    };
    const inSite = (messageId: string, channel: string, at: number, campaign: string | null, site: string) =>
      ctp('u', { messageId, channel: channel as Touchpoint['channel'], timestamp: at, event: 'Ad Clicked', utmCampaign: campaign, site });
    const first = [
      touch('u', 't-old', 'ads', T0, 'winter'),
      touch('u', 't1', 'search', T0 + DAY, 'spring'),
      inSite('t2', 'email', T0 + 2 * DAY, null, 'blog'),
      ctp('u', { messageId: 'w', channel: 'web', timestamp: T0 + 2 * DAY + 1, event: 'Product Viewed' }),
      order('u', 'o1', T0 + 3 * DAY, 12.5),
      touch('u', 't0', 'social', T0 + DAY / 2, 'spring'),
    ];
    const then = [
      touch('u', 't3', 'ads', T0 + 65 * DAY, 'été ☀'),
      order('u', 'o2', T0 + 66 * DAY, null),
      ...[4, 5, 6, 7, 8, 9, 10, 11].map((i) => touch('u', `t${i}`, i % 2 ? 'email' : 'search', T0 + 66 * DAY + i * 60_000, `c${i}`)),
    ];
    const last = [touch('u', 't12', 'referral', T0 + 67 * DAY, 'spring'), order('u', 'o3', T0 + 67 * DAY + 1, 99)];
    const options = { ...DEFAULT_ATTRIBUTION_OPTIONS, maxTouches: 8 };
    const p = new AttributionPartition(options);
    const hex = () => Buffer.from(p.snapshot('u')!).toString('hex');
    for (const e of first) p.process(e);
    expect(hex()).toBe(written.mid);
    for (const e of then) p.process(e);
    expect(hex()).toBe(written.bounded);
    for (const e of last) p.process(e);
    expect(hex()).toBe(written.last);
    // From the old bytes: the same rows and the same bytes from here on.
    const restored = new AttributionPartition(options);
    const never = new AttributionPartition(options);
    restored.restore('u', Buffer.from(written.mid, 'hex'));
    for (const e of first) never.process(e);
    for (const e of [...then, ...last]) expect(restored.process(e)).toEqual(never.process(e));
    expect(Buffer.from(restored.snapshot('u')!).toString('hex')).toBe(written.last);
  });

  it('keeps a long-lived customer’s labels to those its touches use: many campaigns over time, the latest touches exact', () => {
    const p = new AttributionPartition();
    const fresh = new AttributionPartition();
    for (let i = 0; i < 1_000; i++) p.process(touch('u', `t${i}`, i % 3 ? 'email' : 'ads', T0 + i * DAY, `campaign-${i}`));
    for (let i = 1_000 - 61; i < 1_000; i++) fresh.process(touch('u', `t${i}`, i % 3 ? 'email' : 'ads', T0 + i * DAY, `campaign-${i}`));
    expect(p.get('u')).toEqual(fresh.get('u')); // lookback + correction: the latest 61 days of touches
    expect(Buffer.from(p.snapshot('u')!)).toEqual(Buffer.from(fresh.snapshot('u')!));
  });

  it('refuses another format, a cut value and trailing bytes', () => {
    const bytes = encodeAttributionState({ clock: T0, touches: [{ messageId: 'm', at: T0, channel: 'ads', campaign: null, site: 's' }], conversions: [] });
    expect(() => decodeAttributionState(Buffer.from([9, ...bytes.subarray(1)]))).toThrow(AttributionStateError);
    expect(() => decodeAttributionState(bytes.subarray(0, bytes.length - 1))).toThrow(/cut short/);
    expect(() => decodeAttributionState(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/trailing/);
  });
});
