// The journey step's CPU for its changelog by state flush interval, in process (docs/performance.md,
// "The e2e's records, profiles and where its p99 waits"): the e2e's flat-out input arriving at RATE
// touchpoints/s over four partitions, each touchpoint processed by the journey processor, each
// partition flushed every FLUSH_S s of arrival time or at CAP changed keys (as the stateful handler
// does), the flush's records encoded as kafkajs' produce request encodes them. No broker, no local
// copy, no merges (a customer is the touchpoint's identityKey). Prints the changelog records per
// touchpoint and the CPU µs per touchpoint of the processing and of the flushes.
//
//   npx tsx tests/bench/changelog-flush-cpu.ts [touchpoints 100000] [RATE 5000] [FLUSH_S 5] [CAP 4096]
//
// Run the settings alternately: the figures move with the machine's load.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { KafkaMessage } from 'kafkajs';
import { parse as parseYaml } from 'yaml';
import { identityKey } from '../../schemas/touchpoint.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { loadSources } from '../../services/platform/segment/sources-file.js';
import { knownTouchpoints } from '../faults/input.js';
import { createJourneyProcessor } from '../../services/sessionizer/journey-processor.js';
import { sessionizerConfig } from '../../services/sessionizer/core/sessions.js';
import { defaultStagesCoreConfig } from '../../services/sessionizer/stages/stages-config.js';
import { loadShippedChurnModel, loadShippedStageRules } from '../../services/sessionizer/stages/testing.js';
import { stageByEventName } from '../../services/sessionizer/core/test-touchpoint.js';
import { chunkBySize, MAX_REQUEST_BYTES } from '../../services/platform/kafka/producer.js';
const require = createRequire(import.meta.url);
const produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request');
const Long = require('kafkajs/src/utils/long');

const [countArg = '100000', rateArg = '5000', flushArg = '5', capArg = '4096'] = process.argv.slice(2);
const N = Number(countArg), RATE = Number(rateArg), F = Number(flushArg) * 1000, CAP = Number(capArg);
const topics = topicsWithPrefix('t.');
const recordCodec = topicCodecs.identifiedTouchpoints();
const sources = loadSources('services/collector/sources.local.yaml');
const settings = parseYaml(readFileSync('tests/bench/simulator-fast.yaml', 'utf8')) as Record<string, unknown>;
const P = 4;
const msgs: KafkaMessage[][] = [[], [], [], []];
const arrival: number[][] = [[], [], [], []];
let i = 0;
/** Any stable spread over the partitions will do here (the pipeline places keys by murmur2). */
const hash = (s: string) => { let h = 0; for (let k = 0; k < s.length; k++) h = (h * 31 + s.charCodeAt(k)) | 0; return Math.abs(h) % P; };
for (const chunk of knownTouchpoints({ seed: 1001, count: N, startTime: Date.now() - 3_600_000, sources, chunk: 5000, overlay: { ...settings, arrival: { callsPerSecond: 50_000 } } })) {
  for (const tp of chunk) {
    const customerId = identityKey(tp); const p = hash(customerId);
    const value = recordCodec.encode({ kind: 'touchpoint', customerId, touchpoint: { customerId, accountId: null, sessionId: '', late: false, touchpoint: tp }, mergeInto: null, mergedFrom: null, state: null, source: p, sourceWatermark: tp.timestamp - 1000, inputOffset: i } as never);
    msgs[p]!.push({ offset: String(msgs[p]!.length), key: null, value, timestamp: '0', attributes: 0, headers: {} } as KafkaMessage);
    arrival[p]!.push((i / RATE) * 1000);
    i++;
  }
}
/** Every counter of JourneyProcessorDeps, counting nothing. */
const counters = new Proxy({}, { get: () => () => {} }) as never;
const procs = msgs.map(() => createJourneyProcessor({
  sourcePartitions: P, mergeWait: { maxWaitMs: 60_000, maxHeld: 100, maxHeldBytes: 1 << 20 }, topics,
  codecs: { record: recordCodec, session: topicCodecs.sessions(), transition: topicCodecs.stageTransitions(), funnel: topicCodecs.funnelEvents(), churn: topicCodecs.churnScores() },
  sessions: sessionizerConfig(stageByEventName),
  stages: { rules: loadShippedStageRules('ecommerce.yaml'), config: defaultStagesCoreConfig(), churn: loadShippedChurnModel() },
  tickLimit: 1_000, maxEventLagMs: 24 * 3_600_000, counters, now: () => Date.now(),
} as never));
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
let procMs = 0, flushMs = 0, records = 0, bytes = 0, flushes = 0;
const flush = async (p: number) => {
  const t = cpu();
  const updates = procs[p]!.takeStateUpdates();
  const recs = updates.map((u) => ({ topic: 'changelog', key: u.key, value: u.value, partition: p }));
  for (const chunk of chunkBySize(recs as never, MAX_REQUEST_BYTES)) {
    const req = produceV3({ acks: -1, timeout: 30000, producerId: Long.fromInt(1), producerEpoch: 0, topicData: [{ topic: 'changelog', partitions: [{ partition: p, firstSequence: 0, messages: (chunk as typeof recs).map((r) => ({ key: r.key, value: r.value, headers: {} })) }] }] });
    const enc = await req.encode();
    bytes += enc.buffer.length;
  }
  records += recs.length; flushes++;
  flushMs += cpu() - t;
};
const lastFlush = [0, 0, 0, 0];
const BATCH = 500;
const idx = [0, 0, 0, 0];
let done = false;
while (!done) {
  done = true;
  for (let p = 0; p < P; p++) {
    const m = msgs[p]!; if (idx[p]! >= m.length) continue; done = false;
    const t = cpu();
    const end = Math.min(m.length, idx[p]! + BATCH);
    let capHit = false;
    for (; idx[p]! < end; idx[p]!++) { procs[p]!.process(m[idx[p]!]!); if (procs[p]!.changedKeys() >= CAP) { capHit = true; idx[p]!++; break; } }
    procMs += cpu() - t;
    const at = arrival[p]![idx[p]! - 1]!;
    if (capHit || at - lastFlush[p]! >= F) { await flush(p); lastFlush[p] = at; }
  }
}
for (let p = 0; p < P; p++) await flush(p);
console.log(JSON.stringify({ events: i, rate: RATE, flushS: F / 1000, cap: CAP, flushes, changelogRecordsPerTouchpoint: +(records / i).toFixed(3), bytesPerRecord: Math.round(bytes / records), processUsPerEvent: +((procMs * 1000) / i).toFixed(1), flushUsPerEvent: +((flushMs * 1000) / i).toFixed(1) }));
