import { describe, expect, it } from 'vitest';
import { EVENT_STEPS, SimulatorConfig } from '../core/config.js';
import { createSimulator } from '../core/generator.js';
import { HOUR, START, testConfig } from '../core/test-fixtures.js';
import { injectedIncidents, planHistoryIncidents } from './plan-incidents.js';

const DAY = 24 * HOUR;

describe('incidents of a history file', () => {
  it('are seeded, about one every 5 days, valid, apart and inside the history', () => {
    const config = testConfig({ seed: 7 });
    const planned = planHistoryIncidents(config, 90);
    expect(planHistoryIncidents(testConfig({ seed: 7 }), 90)).toEqual(planned);
    expect(planHistoryIncidents(testConfig({ seed: 8 }), 90)).not.toEqual(planned);
    expect(planned.length).toBeGreaterThanOrEqual(9);
    expect(planned.length).toBeLessThanOrEqual(30);
    // They pass the simulator's own validation (known sites and steps).
    expect(SimulatorConfig.safeParse({ ...config, incidents: planned }).success).toBe(true);
    expect(new Set(planned.map((i) => i.kind))).toEqual(new Set(['conversion-drop', 'tracking-stopped']));
    let previousEnd = 0;
    for (const incident of planned) {
      const end = incident.at + (incident.durationMs ?? Infinity);
      expect(incident.at).toBeGreaterThanOrEqual(Math.max(DAY, previousEnd + DAY));
      expect(end).toBeLessThanOrEqual(90 * DAY - 6 * HOUR);
      if (incident.kind === 'conversion-drop') {
        const kind = config.sites.find((s) => s.id === incident.site)!.kind;
        expect(EVENT_STEPS[kind]).toContain(incident.step);
        expect(incident.dropPct).toBeGreaterThanOrEqual(80);
      }
      previousEnd = end;
    }
  });

  it('happen in a simulated history and are recorded on its clock with what they did', () => {
    const base = testConfig({ seed: 3, arrival: { callsPerSecond: 1 } });
    const incidents = planHistoryIncidents(base, 6);
    expect(incidents.length).toBeGreaterThan(0);
    const end = START + 6 * DAY;
    const simulator = createSimulator({ ...base, incidents }, { startTime: START });
    while (simulator.nextUntil(end, 50_000).length > 0);
    const recorded = injectedIncidents(simulator.stats().incidents, START, end);
    expect(recorded).toHaveLength(incidents.length);
    recorded.forEach((r, i) => {
      const planned = incidents[i]!;
      expect(r).toMatchObject({ kind: planned.kind, site: planned.site, start: START + planned.at, end: START + planned.at + planned.durationMs! });
      expect(r.startIso).toBe(new Date(r.start).toISOString());
      expect(r.applied).toBeGreaterThan(0);
    });
  });
});
