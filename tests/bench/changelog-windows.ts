// How many journey-changelog records per touchpoint a state flush interval would write, on the
// e2e bench's input (docs/performance.md, "The e2e's records and where its p99 waits"): the
// distinct customer keys (anonymousId ?? userId, before identity stitching) among the
// touchpoints that arrive within one flush window, per touchpoint. The journey step writes one value per changed
// customer per flush, so this is its customers' share of the changelog; merges add forwards,
// transfers and tombstones on top (the e2e measured ~0.2–0.3 more), and the flush cap
// (SESSIONIZER_STATE_FLUSH_MAX_CUSTOMERS) can cut a window short. No Kafka, no services.
//
//   npx tsx tests/bench/changelog-windows.ts [touchpoints, 300000]
//
// Flat out, the simulator makes 50,000 calls per simulated second, so a customer's next page view
// comes ~50,000 calls later: in wall time that is 50,000 / the accepted rate, which is why the
// flat-out phase repeats few customers within 5 s. At a fixed rate the simulator runs in real time
// (1 s between page views), and arrival time is the touchpoint's receivedAt.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { identityKey } from '../../schemas/touchpoint.js';
import { loadSources } from '../../services/platform/segment/sources-file.js';
import { knownTouchpoints } from '../faults/input.js';

const count = Number(process.argv[2] ?? 300_000);
const FLUSH_SECONDS = [1, 5, 15, 30, 60];
const sources = loadSources('services/collector/sources.local.yaml');
const settings = parseYaml(readFileSync('tests/bench/simulator-fast.yaml', 'utf8')) as Record<string, unknown>;

/** Distinct keys per window of `windowMs`, per touchpoint; `at(i)` is the i-th touchpoint's arrival. */
function recordsPerTouchpoint(keys: string[], at: (i: number) => number, windowMs: number): number {
  let records = 0;
  let window = new Set<string>();
  let windowStart = at(0);
  for (let i = 0; i < keys.length; i++) {
    if (at(i) - windowStart >= windowMs) {
      records += window.size;
      window = new Set();
      windowStart = at(i);
    }
    window.add(keys[i]!);
  }
  return (records + window.size) / keys.length;
}

function input(callsPerSecond: number): { keys: string[]; receivedAt: number[] } {
  const keys: string[] = [];
  const receivedAt: number[] = [];
  const overlay = { ...settings, arrival: { callsPerSecond } };
  for (const chunk of knownTouchpoints({ seed: 1001, count, startTime: 1_700_000_000_000, sources, chunk: 5_000, overlay })) {
    for (const tp of chunk) {
      keys.push(identityKey(tp));
      receivedAt.push(tp.receivedAt);
    }
  }
  return { keys, receivedAt };
}

const row = (label: string, keys: string[], at: (i: number) => number) =>
  process.stdout.write(`${label}\t${FLUSH_SECONDS.map((s) => `${s} s: ${recordsPerTouchpoint(keys, at, s * 1000).toFixed(3)}`).join('\t')}\n`);

const flatOut = input(50_000);
for (const rate of [2_500, 5_000, 15_000]) row(`flat-out input accepted at ${rate}/s`, flatOut.keys, (i) => (i / rate) * 1000);
const fixed = input(5_000);
row('fixed rate 5,000/s (real time)', fixed.keys, (i) => fixed.receivedAt[i]!);
