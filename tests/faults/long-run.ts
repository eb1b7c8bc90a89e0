// `npm run test:faults`: the long fault-injection run. Streams FAULT_EVENTS (1,000,000) known events
// through sessionizer, stages and writer twice — once clean, once with FAULT_KILLS (20) kill -9s of
// the processing services, FAULT_BROKER_RESTARTS (5) hard broker restarts and FAULT_CH_OUTAGES (3)
// ClickHouse outages — and compares the two. Writes bench-results/faults.json; README quotes it.
// FAULT_PASSES=clean runs the clean pass alone (an incident of the clean run looked into again) and
// only logs its counts. Each pass logs where its data and the services' logs stay.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createKafka } from '../../services/platform/kafka/client.js';
import { createLogger } from '../../services/platform/logging/logger.js';
import { startDedicatedBroker } from './broker.js';
import { runScenario, type ScenarioResult } from './harness.js';

const num = (key: string, fallback: number) => Number(process.env[key] ?? fallback);
const log = (line: string) => process.stdout.write(`[faults] ${new Date().toISOString()} ${line}\n`);
// Its own broker (FAULT_KAFKA_PORT, fresh data), so its restarts hit nothing else.
const broker = startDedicatedBroker(num('FAULT_KAFKA_PORT', 19_492));
const kafka = createKafka({ brokers: [broker.brokers], clientId: 'faults-long', logger: createLogger('faults', 'error') });
const common = {
  kafka,
  broker,
  events: num('FAULT_EVENTS', 1_000_000),
  seed: num('FAULT_SEED', 11),
  startTime: Date.now() - 6 * 3_600_000,
  partitions: 4,
  log,
  drainTimeoutMs: 3_600_000,
};
if (process.env.FAULT_PASSES === 'clean') {
  log(`clean run of ${common.events} events (clean pass only)`);
  const clean = await runScenario({ ...common, faults: null }).finally(() => broker.destroy());
  const { sessionRows, funnelRows, ...counts } = clean;
  log(JSON.stringify({ ...counts, sessionRows: sessionRows.length, funnelRows: funnelRows.length }));
  process.exit(0);
}
const both = async () => {
  log(`clean run of ${common.events} events`);
  const clean = await runScenario({ ...common, faults: null });
  log(`faulty run`);
  const faulty = await runScenario({
    ...common,
    faults: { kills: num('FAULT_KILLS', 20), brokerRestarts: num('FAULT_BROKER_RESTARTS', 5), clickhouseOutages: num('FAULT_CH_OUTAGES', 3), clickhouseOutageMs: 10_000 },
  });
  return { clean, faulty };
};
const { clean, faulty } = await both().catch((error: unknown) => {
  broker.destroy();
  throw error;
});
/** Rows of `a` not in `b`. */
const only = (a: string[], b: string[]) => {
  const set = new Set(b);
  return a.filter((x) => !set.has(x));
};
const diff = (a: string[], b: string[]) => only(a, b).length;
/** Up to 20 differing rows of each side, to look into (session and funnel rows name the customer). */
const examples = (a: string[], b: string[]) => only(a, b).slice(0, 20);
const summary = (r: ScenarioResult) => ({ ...r, sessionRows: r.sessionRows.length, funnelRows: r.funnelRows.length });
const report = {
  date: new Date().toISOString(),
  events: common.events,
  clean: summary(clean),
  faulty: summary(faulty),
  comparison: {
    lostEvents: faulty.lostEvents,
    duplicateRowsBeforeMerge: faulty.duplicateRowsBeforeMerge,
    duplicateRowsAfterDedup: faulty.duplicateRowsAfterDedup,
    sessionsOnlyInClean: diff(clean.sessionRows, faulty.sessionRows),
    sessionsOnlyInFaulty: diff(faulty.sessionRows, clean.sessionRows),
    funnelRowsOnlyInClean: diff(clean.funnelRows, faulty.funnelRows),
    funnelRowsOnlyInFaulty: diff(faulty.funnelRows, clean.funnelRows),
    differingRows: {
      sessionsOnlyInClean: examples(clean.sessionRows, faulty.sessionRows),
      sessionsOnlyInFaulty: examples(faulty.sessionRows, clean.sessionRows),
      funnelOnlyInClean: examples(clean.funnelRows, faulty.funnelRows),
      funnelOnlyInFaulty: examples(faulty.funnelRows, clean.funnelRows),
    },
    recoveryMs: faulty.faults.map((f) => ({ kind: f.kind, target: f.target, restartMs: f.restartMs, healthyMs: f.healthyMs, processingMs: f.recoveryMs })),
  },
};
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/faults.json', `${JSON.stringify(report, null, 2)}\n`);
log(JSON.stringify(report.comparison));
broker.destroy();
process.exit(0);
