import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSimulatorConfig } from '../core/config.js';
import { writeHistory } from './write-history.js';

const HOUR = 3_600_000;

describe('writeHistory', () => {
  it('keeps new journeys arriving until the end of the period, whatever the seed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'history-'));
    try {
      const endTime = Date.UTC(2026, 10, 1);
      for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
        const out = join(dir, `h-${seed}.jsonl`);
        const config = parseSimulatorConfig({ seed });
        await writeHistory(config, { days: 8, customers: 1_000, endTime, out });
        const firstSeen = new Map<string, number>();
        for (const line of readFileSync(out, 'utf8').trim().split('\n')) {
          const call = JSON.parse(line) as { timestamp: string; anonymousId?: string; userId?: string };
          const person = call.anonymousId ?? call.userId ?? '';
          const at = Date.parse(call.timestamp);
          if (!((firstSeen.get(person) ?? Infinity) <= at)) firstSeen.set(person, at);
        }
        // About 150 new people (or devices) a day: the last 3 hours must bring some. A cap on journeys
        // reached early left the rest of the period without any arrival (hours; 11 in a 90-day file).
        const lateArrivals = [...firstSeen.values()].filter((t) => t > endTime - 3 * HOUR).length;
        expect(lateArrivals, `seed ${seed}`).toBeGreaterThan(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
