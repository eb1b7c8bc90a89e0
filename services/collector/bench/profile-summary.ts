// Summarizes a collector CPU profile (node --cpu-prof): top functions by self time and self time by
// category, within a window of the run (docs/performance.md, Collector).
//
//   npx tsx services/collector/bench/profile-summary.ts <file.cpuprofile> [from-s] [to-s] [cpu-µs-per-event]
//
// Times are seconds from the profile's start (under-load.sh prints its window). With the process's
// CPU µs per event, each share is also shown as µs per event. The profile counts a sample as busy
// while the thread is off-CPU but not idle, so on a loaded machine read shares, not absolute times.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
}
interface Profile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
}

const [file, from = '0', to = '1e9', perEvent] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [from-s] [to-s] [cpu-µs-per-event]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));

function category({ functionName: fn, url }: CallFrame): string {
  if (fn === '(garbage collector)') return 'GC';
  if (/\/zod\/|collector\/core\/(segment|iso-time)\.ts/.test(url)) return 'validation (zod, segment.ts, iso-time.ts)';
  if (fn === 'parseJsonBody') return 'JSON.parse of request bodies';
  if (/collector\/core\/(json-size|limits)\.ts/.test(url) || fn === 'nestsDeeperThan') return 'event size and nesting checks';
  if (/collector\/core\//.test(url)) return 'touchpoint building (properties JSON.stringify included)';
  if (/\/(kafkajs|avsc)\//.test(url) || /^write(Touchpoint|DeadLetter)$/.test(fn)) return 'Kafka: Avro encode + kafkajs';
  if (url === '' || url.startsWith('node:')) return 'node internals and natives (Buffers, sockets, ...)';
  if (/\/(fastify|find-my-way|light-my-request|@fastify|avvio|pino|prom-client)|collector\/http\//.test(url)) return 'HTTP: fastify, routes, metrics, logs';
  return 'other';
}

const self = new Map<string, number>();
const byCategory = new Map<string, number>();
let t = 0;
let busy = 0;
profile.samples.forEach((id, i) => {
  t += profile.timeDeltas[i] ?? 0;
  if (t < Number(from) * 1e6 || t > Number(to) * 1e6) return;
  const frame = frames.get(id)!;
  if (frame.functionName === '(idle)') return;
  const d = profile.timeDeltas[i] ?? 0;
  busy += d;
  const where = frame.url ? ` ${frame.url.replace(/^file:\/\//, '').split('/').slice(-2).join('/')}` : '';
  const name = `${frame.functionName || '(anonymous)'}${where}`;
  self.set(name, (self.get(name) ?? 0) + d);
  byCategory.set(category(frame), (byCategory.get(category(frame)) ?? 0) + d);
});

const line = (share: number, label: string) =>
  `${(100 * share).toFixed(1).padStart(5)}%${perEvent ? `  ~${(share * Number(perEvent)).toFixed(1).padStart(5)} µs/event` : ''}  ${label}`;
console.log(`busy ${(busy / 1e6).toFixed(1)} s in the window`);
for (const [name, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(line(v / busy, name));
console.log('-- by category');
for (const [name, v] of [...byCategory].sort((a, b) => b[1] - a[1])) console.log(line(v / busy, name));
