import type { KafkaMessage } from 'kafkajs';
import { EMPTY_TOUCHPOINT_FIELDS } from '../../schemas/test-touchpoint.js';
import type { JourneyRecord } from '../../schemas/journey.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { mergeWaitLimits } from '../../services/platform/streams/merge-barrier.js';
import { DEFAULT_ATTRIBUTION_OPTIONS } from '../../services/sessionizer/attribution/attribution-partition.js';
import { sessionizerConfig } from '../../services/sessionizer/core/sessions.js';
import { createJourneyProcessor } from '../../services/sessionizer/journey-processor.js';
import { stageClassifierFromFile } from '../../services/sessionizer/stage-classifier.js';
import { defaultStagesCoreConfig } from '../../services/sessionizer/stages/stages-config.js';
import { loadShippedChurnModel, loadShippedStageRules } from '../../services/sessionizer/stages/testing.js';

/**
 * Issue 16's whale figure: the journey step's events/s on a partition where one customer sends a
 * long run of events in a row (a crawler, a load test, a shared kiosk), against the same number of
 * events from a normal mix. In process, no Kafka: each run feeds one fresh journey processor (the
 * production wiring: shipped e-commerce rules, churn model, attribution on, default bounds) batches
 * of touchpoint records, each batch followed by its source's watermark and a state flush
 * (`drain` + `takeStateUpdates`, what the stateful handler does per batch). Timed in process CPU
 * (steadier than wall time on a shared machine) and wall time; the whale's state is bounded
 * (README: Known limits), so what this measures is what its bound costs per event.
 */

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 9, 0);
const EVENTS = ['Product Viewed', 'Product Added', 'Page Viewed', 'Checkout Started', 'Page Viewed'];

export interface WhaleRun {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  cpuMicrosPerEvent: number;
  /** Bytes of changelog values written per flush (the state the flushes carry). */
  stateBytesPerFlush: number;
  /** The largest single customer value written. */
  maxValueBytes: number;
}

const noop = () => {};

function processorForBench() {
  const rules = 'services/sessionizer/rules/ecommerce.yaml';
  return createJourneyProcessor({
    sourcePartitions: 1,
    mergeWait: mergeWaitLimits(),
    topics: topicsWithPrefix('bench.'),
    codecs: {
      record: topicCodecs.identifiedTouchpoints(),
      session: topicCodecs.sessions(),
      transition: topicCodecs.stageTransitions(),
      funnel: topicCodecs.funnelEvents(),
      churn: topicCodecs.churnScores(),
      attribution: topicCodecs.attribution(),
    },
    sessions: sessionizerConfig(stageClassifierFromFile(rules)),
    stages: { rules: loadShippedStageRules('ecommerce.yaml'), config: defaultStagesCoreConfig(), churn: loadShippedChurnModel() },
    attribution: DEFAULT_ATTRIBUTION_OPTIONS,
    tickLimit: 5_000,
    maxEventLagMs: 5 * MIN,
    counters: { duplicates: noop, late: noop, sessionsClosed: noop, touchpoints: noop, transitions: noop, churnAlerts: noop, deadLetter: noop, mergeWaitsExpired: noop, mergeWaitsFull: noop, bounded: noop, oversizedOutput: noop, idleTick: noop },
    now: () => T0 + 400 * 86_400_000,
  });
}

function touchpoint(customer: string, i: number, timestamp: number): Touchpoint {
  return {
    ...EMPTY_TOUCHPOINT_FIELDS,
    messageId: `${customer}-${i}`,
    type: 'track',
    event: EVENTS[i % EVENTS.length]!,
    userId: customer,
    anonymousId: null,
    source: 'bench',
    site: 'shop.example',
    channel: 'web',
    timestamp,
    receivedAt: timestamp,
    url: `https://shop.example/p/${i % 97}`,
    deviceType: 'desktop',
  };
}

/** Feeds `events` touchpoints (`at(i)` gives customer and time) in batches, flushing after each. */
function run(events: number, batch: number, at: (i: number) => { customer: string; time: number }): WhaleRun {
  const codec = topicCodecs.identifiedTouchpoints();
  const processor = processorForBench();
  let offset = 0;
  const message = (record: JourneyRecord): KafkaMessage => ({ offset: String(offset++), key: null, value: codec.encode(record), timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;
  // Encoded before the clock starts: the router's encode is not the journey step's cost.
  const batches: KafkaMessage[][] = [];
  for (let from = 0; from < events; from += batch) {
    const messages: KafkaMessage[] = [];
    let newest = 0;
    for (let i = from; i < Math.min(events, from + batch); i++) {
      const { customer, time } = at(i);
      newest = Math.max(newest, time);
      const tp = touchpoint(customer, i, time);
      messages.push(message({ kind: 'touchpoint', customerId: `u:${customer}`, touchpoint: { customerId: `u:${customer}`, accountId: null, sessionId: '', late: false, touchpoint: tp }, mergeInto: null, mergedFrom: null, state: null }));
    }
    messages.push(message({ kind: 'watermark', customerId: '', touchpoint: null, mergeInto: null, mergedFrom: null, state: null, source: 0, sourceWatermark: newest }));
    batches.push(messages);
  }
  let stateBytes = 0;
  let flushes = 0;
  let maxValueBytes = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (const messages of batches) {
    for (const m of messages) processor.process(m);
    processor.drain?.();
    for (const update of processor.takeStateUpdates()) {
      const bytes = update.value?.length ?? 0;
      stateBytes += bytes;
      if (bytes > maxValueBytes) maxValueBytes = bytes;
    }
    flushes++;
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    events,
    seconds: Math.round(seconds * 100) / 100,
    eventsPerSecond: Math.round(events / seconds),
    cpuMicrosPerEvent: Math.round(((used.user + used.system) / events) * 10) / 10,
    stateBytesPerFlush: Math.round(stateBytes / flushes),
    maxValueBytes,
  };
}

export function runWhaleBench(o: { events: number; batch: number; log: (line: string) => void }) {
  // Normal: customers of 5 events a minute apart, 200 at a time interleaved (a busy shop's partition).
  const normal = (i: number) => {
    const group = Math.floor(i / 1_000);
    const k = i % 1_000;
    return { customer: `n-${group}-${k % 200}`, time: T0 + group * 10 * MIN + Math.floor(k / 200) * MIN + (k % 200) * 10 };
  };
  // The whale: one customer, an event every 10 ms (the whale integration test's shape), among nobody.
  const whale = (i: number) => ({ customer: 'whale', time: T0 + i * 10 });
  // A warm-up run of each first (JIT), not reported.
  run(Math.min(20_000, o.events), o.batch, normal);
  run(Math.min(20_000, o.events), o.batch, whale);
  const normalRun = run(o.events, o.batch, normal);
  o.log(`whale: normal mix ${JSON.stringify(normalRun)}`);
  const whaleRun = run(o.events, o.batch, whale);
  o.log(`whale: one customer ${JSON.stringify(whaleRun)}`);
  return {
    events: o.events,
    batch: o.batch,
    normal: normalRun,
    whale: whaleRun,
    /** The target: at least 0.5 (CPU per event, so the machine's load matters less). */
    whaleToNormalByCpu: Math.round((normalRun.cpuMicrosPerEvent / whaleRun.cpuMicrosPerEvent) * 100) / 100,
    whaleToNormalByWall: Math.round((whaleRun.eventsPerSecond / normalRun.eventsPerSecond) * 100) / 100,
  };
}
