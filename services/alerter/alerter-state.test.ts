import { describe, expect, it } from 'vitest';
import { decodeAlerterState, encodeAlerterState, keepConfiguredMonitors, emptyAlerterState } from './alerter-state.js';
import { DetectorStateError, evaluateSeries } from './core/detector.js';
import { parseMonitors } from './core/monitors.js';

const monitors = parseMonitors('version: 1\nmonitors:\n  - id: v\n    kind: volume\n    sources: [web, ios]\n', 'test.yaml');
const [web, ios] = monitors as [(typeof monitors)[0], (typeof monitors)[0]];

function someState() {
  let detector = emptyAlerterState().detector;
  for (const m of [web, ios]) detector = evaluateSeries(detector, m, 'shop', { at: 300_000, trials: 120, successes: 120 }).detector;
  return { detector, cursors: { [web.id]: 300_000, [ios.id]: 300_000 } };
}

describe('alerter state snapshot', () => {
  it('restores exactly what it saved', () => {
    const state = someState();
    const decoded = decodeAlerterState(encodeAlerterState(state, 42));
    expect(decoded).toEqual({ ...state, savedAt: 42 });
  });

  it('refuses a corrupt or foreign snapshot instead of starting with an empty baseline', () => {
    expect(() => decodeAlerterState(Buffer.from('{nope'))).toThrow(DetectorStateError);
    expect(() => decodeAlerterState(Buffer.from(JSON.stringify({ version: 2 })))).toThrow(DetectorStateError);
    expect(() => decodeAlerterState(Buffer.from(JSON.stringify({ version: 1, savedAt: 1, cursors: {}, detector: { version: 1, groups: { x: {} } } })))).toThrow(
      DetectorStateError,
    );
  });

  it('forgets the cursors and series of monitors that are no longer configured', () => {
    const kept = keepConfiguredMonitors(someState(), [web]);
    expect(Object.keys(kept.cursors)).toEqual([web.id]);
    expect(Object.values(kept.detector.groups).map((g) => g.monitorId)).toEqual([web.id]);
  });
});
