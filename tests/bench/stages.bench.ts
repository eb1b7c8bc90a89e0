/**
 * Stages benchmark: touchpoints per second through `StagesPartition.process` (with the periodic
 * `tick` a consumer would run), the cost of a tick sweep over all customers, of draining the
 * changelog, and the BG/NBD fit time on CDNOW. Synthetic journeys come from a seeded PRNG, so
 * every run measures the same work. Sized to finish well under a minute on 2 cores.
 */
import { readFileSync } from 'node:fs';
import { EVENTS } from '../../schemas/event-names.js';
import type { CustomerTouchpoint } from '../../schemas/journey.js';
import { fitBgNbd } from '../../services/sessionizer/stages/churn/bgnbd.js';
import { parseCdnowSummary } from '../../services/sessionizer/stages/churn/cdnow.js';
import { StagesPartition } from '../../services/sessionizer/stages/processor.js';
import { defaultStagesCoreConfig } from '../../services/sessionizer/stages/stages-config.js';
import { DAY, loadShippedChurnModel, loadShippedStageRules, pageView, T0, touch } from '../../services/sessionizer/stages/testing.js';
import { createPrng as prng } from '../support/prng.js';

const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 50_000);
const EVENTS_TOTAL = Number(process.env.BENCH_EVENTS ?? 500_000);
const TICK_EVERY = 5_000;
/** Simulated time the touchpoints span: long enough for windows to expire and silent customers to be rescored. */
const SPAN_DAYS = 14;


/** A funnel-shaped mix: lots of browsing, fewer carts and orders, a few advocates and churn signals. */
const MIX: [weight: number, make: (id: string, at: number, rnd: () => number) => CustomerTouchpoint][] = [
  [20, (id, at) => pageView(id, '/', at)],
  [8, (id, at, r) => pageView(id, r() < 0.5 ? '/blog/post' : '/pricing', at, { channel: r() < 0.3 ? 'social' : 'web', utmCampaign: r() < 0.2 ? 'spring' : null })],
  [6, (id, at) => touch(id, EVENTS.adClicked, at, { channel: 'ads', utmCampaign: 'spring' })],
  [20, (id, at, r) => touch(id, EVENTS.productViewed, at, { props: { productId: `p${Math.floor(r() * 500)}`, price: 19.9 } })],
  [6, (id, at) => touch(id, EVENTS.productsSearched, at, { props: { query: 'shoes' } })],
  [8, (id, at) => touch(id, EVENTS.productAdded, at, { props: { productId: 'p1', quantity: 1 } })],
  [4, (id, at) => touch(id, EVENTS.checkoutStarted, at)],
  [5, (id, at, r) => touch(id, EVENTS.orderCompleted, at, { revenue: 50, props: { orderId: `o${Math.floor(r() * 1e9)}`, revenue: 50 } })],
  [4, (id, at) => touch(id, EVENTS.featureUsed, at)],
  [2, (id, at, r) => touch(id, EVENTS.productReviewed, at, { props: { rating: 1 + Math.floor(r() * 5) } })],
  [2, (id, at, r) => touch(id, EVENTS.npsSubmitted, at, { props: { score: Math.floor(r() * 11) } })],
  [1, (id, at) => touch(id, EVENTS.supportTicketOpened, at)],
  [1, (id, at) => touch(id, EVENTS.supportTicketResolved, at)],
  [1, (id, at) => touch(id, EVENTS.paymentFailed, at)],
  [1, (id, at) => pageView(id, '/account/cancel', at)],
  [1, (id, at, r) => touch(id, EVENTS.referralAccepted, at, { props: { referrerId: `c${Math.floor(r() * CUSTOMERS)}` } })],
];
const TOTAL_WEIGHT = MIX.reduce((s, [w]) => s + w, 0);

function pickIndex(r: () => number): number {
  let x = r() * TOTAL_WEIGHT;
  for (let i = 0; i < MIX.length; i++) if ((x -= MIX[i]![0]) < 0) return i;
  return 0;
}

/**
 * The stream as compact columns (customer, time, kind, seed) in time order, as one partition would
 * see it: ~EVENTS_TOTAL/CUSTOMERS touchpoints per customer over SPAN_DAYS. Touchpoint objects are
 * built batch by batch outside the timed region, so the heap holds one batch, not 500k objects.
 */
function generate(): { customer: Int32Array; at: Float64Array; kind: Uint8Array; seed: Float64Array } {
  const r = prng(42);
  const order = Array.from({ length: EVENTS_TOTAL }, () => r() * SPAN_DAYS * DAY).sort((a, b) => a - b);
  const cols = { customer: new Int32Array(EVENTS_TOTAL), at: new Float64Array(EVENTS_TOTAL), kind: new Uint8Array(EVENTS_TOTAL), seed: new Float64Array(EVENTS_TOTAL) };
  for (let i = 0; i < EVENTS_TOTAL; i++) {
    cols.customer[i] = Math.floor(r() * CUSTOMERS);
    cols.at[i] = T0 + Math.floor(order[i]!);
    cols.kind[i] = pickIndex(r);
    cols.seed[i] = r();
  }
  return cols;
}

function buildBatch(cols: ReturnType<typeof generate>, from: number, to: number): CustomerTouchpoint[] {
  const out: CustomerTouchpoint[] = [];
  for (let i = from; i < to; i++) {
    const r = prng(Math.floor(cols.seed[i]! * 2 ** 32));
    out.push(MIX[cols.kind[i]!]![1](`c${cols.customer[i]}`, cols.at[i]!, r));
  }
  return out;
}

export async function runStagesBench(): Promise<Record<string, number>> {
  const cols = generate();
  const partition = new StagesPartition({ rules: loadShippedStageRules('ecommerce.yaml'), config: defaultStagesCoreConfig(), churn: loadShippedChurnModel() });

  let transitions = 0;
  let funnel = 0;
  let churn = 0;
  let tickMs = 0;
  let totalMs = 0;
  const ticksBefore = partition.stats().ticked;
  const BATCH = 10_000;
  for (let from = 0; from < EVENTS_TOTAL; from += BATCH) {
    const batch = buildBatch(cols, from, Math.min(EVENTS_TOTAL, from + BATCH));
    const started = performance.now();
    for (let j = 0; j < batch.length; j++) {
      const ctp = batch[j]!;
      const now = ctp.touchpoint.timestamp;
      const out = partition.process(ctp, now);
      transitions += out.transitions.length;
      funnel += out.funnel.length;
      if (out.churn) churn++;
      if ((from + j) % TICK_EVERY === TICK_EVERY - 1) {
        const t0 = performance.now();
        const t = partition.tick(now);
        tickMs += performance.now() - t0;
        transitions += t.transitions.length;
        funnel += t.funnel.length;
        churn += t.churn.length;
      }
    }
    totalMs += performance.now() - started;
  }
  const processMs = totalMs - tickMs;
  const tickVisits = partition.stats().ticked - ticksBefore;

  const sweepStarted = performance.now();
  const sweep = partition.tick(T0 + 200 * DAY);
  const sweepMs = performance.now() - sweepStarted;

  const drainStarted = performance.now();
  const records = partition.drainDirty();
  const drainMs = performance.now() - drainStarted;
  const snapshotBytes = records.reduce((s, r) => s + (r.snapshot?.byteLength ?? 0), 0);

  const cdnow = parseCdnowSummary(readFileSync(new URL('../fixtures/cdnow_customers_summary.csv', import.meta.url), 'utf8'));
  const fitStarted = performance.now();
  const fit = fitBgNbd(cdnow);
  const fitMs = performance.now() - fitStarted;

  return {
    stagesEvents: EVENTS_TOTAL,
    stagesCustomers: partition.stats().customers,
    /** process() alone. */
    stagesEventsPerSec: Math.round((EVENTS_TOTAL / processMs) * 1000),
    /** process() plus the ticks of SPAN_DAYS simulated days (daily churn rescoring of every customer). */
    stagesEventsPerSecWithTicks: Math.round((EVENTS_TOTAL / totalMs) * 1000),
    stagesTickVisits: tickVisits,
    stagesTickVisitsPerSec: Math.round((tickVisits / Math.max(1, tickMs)) * 1000),
    stagesTransitions: transitions,
    stagesFunnelEvents: funnel,
    stagesChurnScores: churn,
    stagesTickSweepMs: Math.round(sweepMs),
    stagesTickSweepOutputs: sweep.transitions.length + sweep.funnel.length + sweep.churn.length,
    stagesChangelogDrainMs: Math.round(drainMs),
    stagesSnapshotAvgBytes: Math.round(snapshotBytes / Math.max(1, records.length)),
    bgnbdFitMs: Math.round(fitMs),
    bgnbdFitLogLikelihood: Math.round(fit.logLikelihood * 10) / 10,
  };
}

// `tsx tests/bench/stages.bench.ts` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runStagesBench());
}
