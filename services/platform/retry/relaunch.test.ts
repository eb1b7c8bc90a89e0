import { describe, expect, it } from 'vitest';
import { relaunchAfterPause } from './relaunch.js';

describe('relaunchAfterPause', () => {
  it('pauses before every launch until one succeeds', async () => {
    const slept: number[] = [];
    const failures: string[] = [];
    let launches = 0;
    const launched = await relaunchAfterPause(
      async () => {
        if (++launches < 3) throw new Error(`down ${launches}`);
      },
      { pauseMs: 2_000, stopped: () => false, onFailure: (e) => failures.push((e as Error).message), sleep: async (ms) => void slept.push(ms) },
    );
    expect(launched).toBe(true);
    expect(launches).toBe(3);
    expect(slept).toEqual([2_000, 2_000, 2_000]);
    expect(failures).toEqual(['down 1', 'down 2']);
  });

  it('launches nothing once the owner has stopped', async () => {
    let launches = 0;
    let stopped = false;
    const launched = await relaunchAfterPause(
      async () => {
        launches++;
        stopped = true;
        throw new Error('down');
      },
      { pauseMs: 10, stopped: () => stopped, onFailure: () => {}, sleep: async () => {} },
    );
    expect(launched).toBe(false);
    expect(launches).toBe(1);
  });
});
