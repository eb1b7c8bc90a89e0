// `npm run bench`: every component's own figures, then the whole pipeline end to end. Prints the
// figures and writes them to bench-results/latest.json (README quotes them). Figures are
// measurements of this machine at this moment, never assertions. `npm run bench -- e2e queries`
// runs only those steps (and writes bench-results/partial-<steps>.json).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

const STEPS = ['simulator', 'collector', 'sessionizer', 'stages', 'alerting', 'queries', 'journey', 'import', 'state', 'whale', 'e2e'];
const only = process.argv.slice(2);
const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadavg()[0] },
};

function runStep(name: string, brokers: string): Promise<unknown> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'tests/bench/run-step.ts', name, brokers], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      resolve(line ? JSON.parse(line.slice(7)) : { error: `step exited ${code}`, output: out.slice(-2000) });
    });
  });
}

const brokerOut = execFileSync('bash', ['infra/kafka/broker.sh', 'up'], { encoding: 'utf8' });
const brokers = /KAFKA_BROKERS=(\S+)/.exec(brokerOut)?.[1] ?? '127.0.0.1:19092';
for (const name of STEPS.filter((s) => only.length === 0 || only.includes(s))) {
  log(`${name} ...`);
  const started = Date.now();
  results[name] = await runStep(name, brokers);
  log(`${name} done in ${Math.round((Date.now() - started) / 1000)} s: ${JSON.stringify(results[name])}`);
}
mkdirSync('bench-results', { recursive: true });
const file = only.length === 0 ? 'bench-results/latest.json' : `bench-results/partial-${only.join('-')}.json`;
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
log(`figures written to ${file}`);
