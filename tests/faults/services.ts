import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServiceProcess, waitForOutput, type ServiceProcess } from '../support/processes.js';

export type ServiceName = 'sessionizer' | 'writer';

export interface PipelineProcesses {
  names: ServiceName[];
  get(name: ServiceName): ServiceProcess;
  start(name: ServiceName): Promise<void>;
  kill9(name: ServiceName): Promise<void>;
  stopAll(): Promise<void>;
  /** Health URLs of the running processes (parsed from their banners). */
  healthUrls(): string[];
}

/**
 * The processing services as separate OS processes, so kill -9 hits exactly one of them. With
 * `logDir`, each process's output (LOG_LEVEL, warn by default) is appended to `<logDir>/<name>.log`
 * as it comes, so an incident in a long run can be traced to what the services said.
 */
export function pipelineProcesses(env: Record<string, string>, logDir?: string): PipelineProcesses {
  const running = new Map<ServiceName, ServiceProcess>();
  if (logDir !== undefined) mkdirSync(logDir, { recursive: true });
  const entry: Record<ServiceName, string> = {
    sessionizer: 'services/sessionizer/main.ts',
    writer: 'services/writer/main.ts',
  };
  return {
    names: ['sessionizer', 'writer'],
    get: (name) => running.get(name)!,
    async start(name) {
      const svc = startServiceProcess(entry[name], env);
      running.set(name, svc);
      if (logDir !== undefined) {
        // As it comes (a run that hangs can be looked into while it does); the output before this
        // listener (none: the process has just been spawned) is in svc.output() too.
        const file = join(logDir, `${name}.log`);
        appendFileSync(file, `=== ${name} pid ${svc.child.pid} started ${new Date().toISOString()}\n`);
        const write = (chunk: Buffer) => appendFileSync(file, chunk);
        svc.child.stdout?.on('data', write);
        svc.child.stderr?.on('data', write);
        void svc.exited.then((code) => appendFileSync(file, `=== ${name} pid ${svc.child.pid} exited ${code} at ${new Date().toISOString()}\n`));
      }
      await waitForOutput(svc, 'health at', 120_000);
    },
    async kill9(name) {
      const svc = running.get(name);
      if (!svc) return;
      svc.child.kill('SIGKILL');
      await svc.exited;
      running.delete(name);
    },
    async stopAll() {
      for (const name of ['sessionizer', 'writer'] as ServiceName[]) {
        const svc = running.get(name);
        if (!svc) continue;
        svc.child.kill('SIGTERM');
        const code = await svc.exited;
        if (code !== 0) throw new Error(`${name} exited ${code} on SIGTERM:\n${svc.output().slice(-2000)}`);
        running.delete(name);
      }
    },
    healthUrls: () => [...running.values()].map((s) => /health at (\S+)/.exec(s.output())?.[1]).filter((u): u is string => !!u),
  };
}

/** Resolves when every URL answers 200 (ms waited), polling. */
export async function waitHealthy(urls: string[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const oks = await Promise.all(urls.map((u) => fetch(u).then((r) => r.ok).catch(() => false)));
    if (oks.every(Boolean)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      const bodies = await Promise.all(urls.map((u) => fetch(u).then((r) => r.text()).catch((e: Error) => e.message)));
      throw new Error(`not healthy after ${timeoutMs} ms: ${bodies.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
