// `npm run test:stress`: runs the integration project several times in a row while a CPU burner
// occupies one core, so races that only show on a loaded machine show here, and reports every
// round's result and every failure at the end. Exits 1 if any round failed.
//
//   npm run test:stress                         3 rounds (or STRESS_ROUNDS)
//   npm run test:stress -- --rounds 5           5 rounds
//   npm run test:stress -- tests/integration/writer.integration.test.ts   rounds of one file
//
// Anything that is not `--rounds N` is passed to vitest. STRESS_BURNERS sets the number of burners
// (default 1: one core busy, as "other work on the machine").
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Failure {
  round: number;
  test: string;
  message: string;
}

interface RoundResult {
  round: number;
  passed: boolean;
  exitCode: number | string;
  tests: number;
  failed: number;
  seconds: number;
}

/** vitest's JSON reporter, the parts read here. */
interface JsonReport {
  numTotalTests?: number;
  numFailedTests?: number;
  testResults?: Array<{
    name: string;
    status: string;
    message?: string;
    assertionResults?: Array<{ fullName: string; status: string; failureMessages?: string[] }>;
  }>;
}

const root = process.cwd();

function parseArgs(argv: string[]): { rounds: number; vitestArgs: string[] } {
  let rounds = Number(process.env.STRESS_ROUNDS ?? 3);
  const vitestArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--rounds') rounds = Number(argv[++i]);
    else if (arg.startsWith('--rounds=')) rounds = Number(arg.slice('--rounds='.length));
    else vitestArgs.push(arg);
  }
  if (!Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write(`test:stress: rounds must be a positive integer (--rounds N or STRESS_ROUNDS), got ${rounds}\n`);
    process.exit(2);
  }
  return { rounds, vitestArgs };
}

/**
 * A child that spins on one core until killed. It also ends by itself once its parent is gone
 * (checked every few million iterations), so not even a kill -9 of this script leaves it behind.
 */
function startBurner(): ChildProcess {
  const program = `
    const parent = ${process.pid};
    for (let i = 1; ; i++) {
      if (i % 20000000 === 0 && process.ppid !== parent) process.exit(0);
    }`;
  return spawn(process.execPath, ['-e', program], { stdio: 'ignore' });
}

/** CPU seconds a process has used so far (Linux /proc; null elsewhere). */
function cpuSeconds(pid: number | undefined): number | null {
  const file = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(file)) return null;
  const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After "pid (comm) ", utime and stime are fields 12 and 13 (0-based), in clock ticks (100/s).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const running = (child: ChildProcess | undefined): child is ChildProcess => !!child && child.exitCode === null && child.signalCode === null;

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!running(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/**
 * Stops a round that is still running: vitest runs in a process group of its own, with its test
 * worker and every service process or broker a test started; all of them get SIGTERM (a graceful
 * stop), and SIGKILL whatever is left after a few seconds.
 */
async function stopRound(vitest: ChildProcess | undefined): Promise<void> {
  if (!running(vitest) || vitest.pid === undefined) return;
  const group = -vitest.pid;
  const exited = once(vitest, 'exit');
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(group, signal);
    } catch {
      // the group is gone already
    }
  };
  signalGroup('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
  clearTimeout(timer);
  signalGroup('SIGKILL');
  if (running(vitest)) await exited;
}

function failuresOf(round: number, report: JsonReport | null, exitCode: number | string): Failure[] {
  const failures: Failure[] = [];
  for (const file of report?.testResults ?? []) {
    const rel = file.name.startsWith(root) ? file.name.slice(root.length + 1) : file.name;
    const failed = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failed) failures.push({ round, test: `${rel} > ${a.fullName}`, message: (a.failureMessages ?? []).join('\n') });
    // A file that failed outside its tests (a hook, an import) has no failed test to show.
    if (failed.length === 0 && file.status === 'failed') failures.push({ round, test: rel, message: file.message ?? 'file failed' });
  }
  if (failures.length === 0 && exitCode !== 0) {
    failures.push({ round, test: '(vitest)', message: `vitest exited ${exitCode}${report ? '' : ' without a report'}` });
  }
  return failures;
}

const firstLines = (text: string, n: number) =>
  text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .slice(0, n)
    .map((l) => `      ${l}`)
    .join('\n');

async function main(): Promise<number> {
  const { rounds, vitestArgs } = parseArgs(process.argv.slice(2));
  const burnerCount = Number(process.env.STRESS_BURNERS ?? 1);
  const reports = mkdtempSync(join(tmpdir(), 'journey-stress-'));
  const burners: ChildProcess[] = [];
  let vitest: ChildProcess | undefined;
  let interrupted = false;

  const cleanUp = async () => {
    await stopRound(vitest);
    await Promise.all(burners.map(stopChild));
  };
  // Ctrl-C or a SIGTERM: the burner and the running round go too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      process.stderr.write(`\ntest:stress: ${signal}, stopping the burner and the running round\n`);
      void cleanUp(); // the round ends, main() reports what finished and exits 130
    });
  }

  const results: RoundResult[] = [];
  const failures: Failure[] = [];
  try {
    // The broker, as `npm test` starts it (idempotent).
    execFileSync('bash', ['infra/kafka/broker.sh', 'up'], { stdio: 'inherit' });

    for (let i = 0; i < burnerCount; i++) burners.push(startBurner());
    const burnersStarted = Date.now();
    process.stdout.write(`== test:stress: ${rounds} round(s) of the integration project; CPU burner(s) pid ${burners.map((b) => b.pid).join(', ')}\n`);

    for (let round = 1; round <= rounds && !interrupted; round++) {
      process.stdout.write(`\n== round ${round} of ${rounds}\n`);
      const reportFile = join(reports, `round-${round}.json`);
      const started = Date.now();
      vitest = spawn(
        process.execPath,
        [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', 'integration', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...vitestArgs],
        // Its own process group, so an interrupted round can be stopped with everything it started.
        { stdio: 'inherit', env: process.env, detached: true },
      );
      const [code, signal] = (await once(vitest, 'exit')) as [number | null, NodeJS.Signals | null];
      vitest = undefined;
      if (interrupted) break;
      const exitCode = code ?? signal ?? 'unknown';
      const report = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, 'utf8')) as JsonReport) : null;
      const roundFailures = failuresOf(round, report, exitCode);
      failures.push(...roundFailures);
      const result: RoundResult = {
        round,
        passed: exitCode === 0 && roundFailures.length === 0,
        exitCode,
        tests: report?.numTotalTests ?? 0,
        failed: roundFailures.length,
        seconds: Math.round((Date.now() - started) / 1000),
      };
      results.push(result);
      process.stdout.write(`== round ${round}: ${result.passed ? 'passed' : 'FAILED'} (${result.tests} tests, ${result.failed} failed, ${result.seconds} s)\n`);
      const alive = burners.filter((b) => b.exitCode === null && b.signalCode === null).length;
      if (alive < burners.length) throw new Error(`a CPU burner ended during round ${round}`);
    }

    const busy = burners.map((b) => cpuSeconds(b.pid));
    const wall = (Date.now() - burnersStarted) / 1000;
    process.stdout.write(`\n== test:stress summary\n`);
    for (const r of results) {
      process.stdout.write(`round ${r.round}: ${r.passed ? 'passed' : 'FAILED'}  ${r.tests} tests, ${r.failed} failed, ${r.seconds} s${r.exitCode === 0 ? '' : `, vitest exit ${r.exitCode}`}\n`);
    }
    if (busy.every((b) => b !== null)) {
      process.stdout.write(`CPU burner(s): ${busy.map((b) => `${b!.toFixed(0)} s CPU`).join(', ')} over ${wall.toFixed(0)} s\n`);
    }
    if (failures.length > 0) {
      process.stdout.write(`\nfailures:\n`);
      for (const f of failures) process.stdout.write(`  round ${f.round}: ${f.test}\n${firstLines(f.message, 6)}\n`);
    }
    const failedRounds = results.filter((r) => !r.passed).length;
    if (interrupted) {
      process.stdout.write(`\nINTERRUPTED: ${results.length - failedRounds} of ${results.length} finished round(s) passed, ${rounds - results.length} not run to the end\n`);
      return 130;
    }
    process.stdout.write(`\n${failedRounds === 0 ? 'PASSED' : 'FAILED'}: ${results.length - failedRounds} of ${results.length} round(s) passed\n`);
    return failedRounds === 0 && results.length === rounds ? 0 : 1;
  } finally {
    await cleanUp();
    rmSync(reports, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`test:stress: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
