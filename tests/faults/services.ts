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

/** The processing services as separate OS processes, so kill -9 hits exactly one of them. */
export function pipelineProcesses(env: Record<string, string>): PipelineProcesses {
  const running = new Map<ServiceName, ServiceProcess>();
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
