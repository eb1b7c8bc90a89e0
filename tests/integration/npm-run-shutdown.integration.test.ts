import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testBrokers, uniqueGroupId, uniquePrefix } from '../support/kafka.js';
import { eventually, testKafka } from '../support/pipeline.js';
import { produceCustomerTouchpoints, writerFlushingOnStopEnv } from '../support/journey-fixtures.js';
import { runScript } from '../support/processes.js';

// A process manager or a container runtime stops `npm run <service>` / `npm start` by sending
// SIGTERM to the pid it started: npm's. The service must get it, flush, commit and exit 0, and
// nothing may be left running (npm 11 does not pass the signal past a shell's child).

/** Pids whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 is the parent pid; the command name (field 2) may contain spaces, so count from ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function npmRun(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | string> } {
  const child = spawn('npm', args, { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return { child, output: () => out, exited };
}

/** The service process under npm (npm → `exec node ...`), once it has printed `text`. */
async function serviceUnder(npm: ReturnType<typeof npmRun>, text: string): Promise<number> {
  let exited = false;
  void npm.exited.then(() => (exited = true));
  await eventually(async () => npm.output(), (o) => o.includes(text) || exited, 120_000, 100);
  if (!npm.output().includes(text)) throw new Error(`npm exited before printing "${text}":\n${npm.output()}`);
  const pids = childrenOf(npm.child.pid!);
  expect(pids).toHaveLength(1);
  return pids[0]!;
}

describe('SIGTERM to the pid of npm', () => {
  it('`npm run writer`: the writer flushes its buffer, commits, exits 0, and no process is left', async () => {
    const prefix = uniquePrefix();
    const dataDir = mkdtempSync(join(tmpdir(), 'journey-npm-writer-'));
    const groupId = uniqueGroupId('npm-writer');
    const topic = `${prefix}customer-touchpoints`;
    const npm = npmRun(['run', 'writer'], writerFlushingOnStopEnv({ brokers: testBrokers(), prefix, dataDir, groupId }));
    const kafka = testKafka('npm-writer');
    const admin = kafka.admin();
    let service: number | undefined;
    try {
      service = await serviceUnder(npm, 'health at');
      await produceCustomerTouchpoints(kafka, topic, { count: 120, customers: 5, idPrefix: 'npm' });
      await admin.connect();
      // The writer has fetched all 120 (its consumer group's lag is 0) but, with a 1-minute flush
      // interval, committed none of them: only the shutdown flush can write and commit them.
      const offsets = async () => {
        const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return t!.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
      };
      const metrics = async () => {
        const url = /health at (\S+)\/healthz/.exec(npm.output())![1]!;
        return (await fetch(`${url}/metrics`)).text();
      };
      await eventually(metrics, (m) => /writer_buffered_rows(\{[^}]*\})? 120\b/.test(m), 60_000);
      expect(await offsets()).toBe(0);

      npm.child.kill('SIGTERM');
      expect(await npm.exited).toBe(0);
      expect(alive(service)).toBe(false);
      expect(await offsets()).toBe(120);
      const rows = JSON.parse(await runScript('tests/support/query-embedded.ts', { DATA_DIR: dataDir }, ['SELECT count() AS c FROM journey.touchpoints']));
      expect(Number(rows[0].c)).toBe(120);
    } finally {
      await admin.disconnect();
      if (service !== undefined && alive(service)) process.kill(service, 'SIGKILL');
      npm.child.kill('SIGKILL');
    }
  });

  it('`npm start`: the whole local pipeline stops cleanly and exits 0, and no process is left', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'journey-npm-start-'));
    const npm = npmRun(['start', '--', '--no-demo'], {
      KAFKA_BROKERS: testBrokers().join(','),
      KAFKA_TOPIC_PREFIX: uniquePrefix(),
      DATA_DIR: dataDir,
      COLLECTOR_HTTP_PORT: '0',
      QUERY_API_HTTP_PORT: '0',
      PROGRESS_EVERY_MS: '0',
      SESSIONIZER_GROUP_ID: uniqueGroupId('npm-start-sessionizer'),
      STAGES_GROUP_ID: uniqueGroupId('npm-start-stages'),
      WRITER_GROUP_ID: uniqueGroupId('npm-start-writer'),
    });
    let service: number | undefined;
    try {
      service = await serviceUnder(npm, 'dashboard');
      npm.child.kill('SIGTERM');
      expect(await npm.exited).toBe(0);
      expect(alive(service)).toBe(false);
      expect(npm.output()).not.toMatch(/shutdown (failed|timed out)/);
    } finally {
      if (service !== undefined && alive(service)) process.kill(service, 'SIGKILL');
      npm.child.kill('SIGKILL');
    }
  });
});
