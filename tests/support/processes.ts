import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { eventually } from './eventually.js';

/** Every child this process started; killed when it exits, so a failed test leaves no orphans behind. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface ServiceProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

/**
 * Runs a TypeScript entry point in ONE node process (`node --import tsx`), so signals and kill -9
 * reach the service itself, not a wrapper.
 */
export function startServiceProcess(entry: string, env: Record<string, string>, nodeArgs: string[] = []): ServiceProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  // 'close' comes after 'exit' and after stdout/stderr ended: output() is complete once this resolves.
  const exited = once(child, 'close').then(([code, signal]) => {
    children.delete(child);
    return (code ?? signal) as number | string;
  });
  return { child, output: () => out, exited };
}

/** Runs a short TypeScript script to completion and returns its stdout. */
export async function runScript(entry: string, env: Record<string, string>, args: string[] = []): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`${entry} exited ${code}: ${err}`);
  return out;
}

/** Waits until the process prints `text`; fails at once if it exits first. */
export async function waitForOutput(svc: ServiceProcess, text: string, timeoutMs = 90_000): Promise<void> {
  const seen = await eventually(
    () => ({ printed: svc.output().includes(text), exited: hasExited(svc) }),
    (s) => s.printed || s.exited,
    timeoutMs,
    100,
    `"${text}" in the output of ${svc.child.spawnargs.at(-1)}`,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${svc.output()}`);
  });
  if (!seen.printed) {
    const code = await svc.exited;
    if (!svc.output().includes(text)) throw new Error(`process exited (${code}) before printing "${text}":\n${svc.output()}`);
  }
}

export function hasExited(svc: ServiceProcess): boolean {
  return svc.child.exitCode !== null || svc.child.signalCode !== null;
}

/**
 * SIGKILLs every service process this test process started that is still running, and waits until
 * they are gone: for tests whose processes are started by a harness the test cannot reach.
 */
export async function killAllServiceProcesses(): Promise<void> {
  await Promise.all(
    [...children].map((child) => {
      const closed = once(child, 'close');
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return closed;
    }),
  );
}

/** Ends a process that may still run (a test that failed half-way): SIGKILL, then waits for its exit. */
export async function killIfRunning(svc: ServiceProcess): Promise<void> {
  if (!hasExited(svc)) svc.child.kill('SIGKILL');
  await svc.exited;
}
