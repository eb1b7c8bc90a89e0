import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Component } from './component.js';
import { startInBackground } from './background-start.js';

const logger = pino({ level: 'silent' });
const instant = async () => {};

function flaky(failures: number): Component & { log: string[] } {
  const log: string[] = [];
  let left = failures;
  return {
    name: 'flaky',
    log,
    async start() {
      log.push('start');
      if (left-- > 0) throw new Error('broker unreachable');
    },
    async stop() {
      log.push('stop');
    },
    health: () => ({ ok: true, details: { inner: true } }),
  };
}

describe('startInBackground', () => {
  it('returns at once, keeps trying until the part starts, and reports unhealthy until then', async () => {
    const part = flaky(3);
    const wrapped = startInBackground(part, { logger, retryMs: 1, sleep: instant });
    await wrapped.start();
    expect(wrapped.health()).toMatchObject({ ok: false, details: { starting: true } });
    await wrapped.started();
    expect(part.log).toEqual(['start', 'start', 'start', 'start']);
    expect(wrapped.health()).toEqual({ ok: true, details: { inner: true } });
    await wrapped.stop();
    expect(part.log.at(-1)).toBe('stop');
  });

  it('stops retrying on stop, and does not stop a part that never started', async () => {
    const part = flaky(Number.MAX_SAFE_INTEGER);
    let naps = 0;
    const wrapped = startInBackground(part, { logger, retryMs: 1, sleep: () => new Promise((r) => setImmediate(() => r(void naps++))) });
    await wrapped.start();
    while (naps < 5) await new Promise((r) => setImmediate(r));
    await wrapped.stop();
    expect(part.log).not.toContain('stop');
    expect(wrapped.health()).toMatchObject({ ok: false, details: { lastError: 'broker unreachable' } });
  });
});
