import { describe, expect, it } from 'vitest';
import { loadShippedBgNbd, loadShippedPlaybook } from '../testing.js';
import { ConfigFileError } from '../../../platform/config/yaml-file.js';
import { loadBgNbdParams } from './bgnbd-params.js';
import { chooseNextAction, loadChurnPlaybook, type ChurnSignalName } from './playbook.js';

const playbook = loadShippedPlaybook();
const next = (score: number, stage: Parameters<typeof chooseNextAction>[1]['stage'], ...signals: ChurnSignalName[]) => chooseNextAction(playbook, { score, stage, activeSignals: new Set(signals) });

describe('churn playbook (rules/churn-playbook.yaml)', () => {
  it('asks for a new payment method after a failed payment, before anything else', () => {
    expect(next(0.9, 'retention', 'paymentFailed', 'complaint')).toBe('update payment method');
  });

  it('sends service recovery for a complaint at high risk only', () => {
    expect(next(0.75, 'retention', 'complaint')).toBe('service recovery outreach');
    expect(next(0.4, 'retention', 'complaint')).toBe('none');
  });

  it('reminds about an abandoned cart', () => {
    expect(next(0.2, 'consideration', 'cartAbandoned')).toBe('send cart reminder');
  });

  it('makes a save offer to someone looking at cancelling', () => {
    expect(next(0.5, 'retention', 'cancellationIntent')).toBe('retention offer');
  });

  it('tries to win back a customer at high risk', () => {
    expect(next(0.8, 'purchase', 'lowPAlive')).toBe('win-back campaign');
    expect(next(0.8, 'awareness', 'lowPAlive')).toBe('none');
  });

  it('invites a happy advocate to refer', () => {
    expect(next(0.1, 'advocacy')).toBe('referral invitation');
    expect(next(0.5, 'advocacy')).toBe('none');
  });

  it('falls back to the default', () => {
    expect(next(0.1, null)).toBe('none');
  });

  it('rejects an unknown signal name with its line', () => {
    const text = 'version: 1\nplays:\n  - name: x\n    when: { signals: [complaint, angry] }\n    action: call\n';
    expect(() => loadChurnPlaybook(text, 'rules/pb.yaml')).toThrow(/^rules\/pb\.yaml:4:\d+: plays\[0\]\.when\.signals\[1\]/);
  });

  it('rejects contradictory score bounds', () => {
    const text = 'version: 1\nplays:\n  - name: x\n    when: { minScore: 0.8, maxScore: 0.2 }\n    action: call\n';
    expect(() => loadChurnPlaybook(text, 'pb.yaml')).toThrow(/pb\.yaml:4:.*minScore is above maxScore/);
  });
});

describe('BG/NBD parameters file', () => {
  it('ships the CDNOW estimates in weekly units', () => {
    expect(loadShippedBgNbd()).toEqual({ r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, timeUnitDays: 7 });
  });

  it('names the line of a bad parameter', () => {
    const text = '{\n  "r": 0.2,\n  "alpha": -4,\n  "a": 0.8,\n  "b": 2.4,\n  "fittedAt": "2025-01-01T00:00:00Z",\n  "customers": 10,\n  "timeUnitDays": 7\n}';
    let error: unknown;
    try {
      loadBgNbdParams(text, 'params.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigFileError);
    expect((error as ConfigFileError).line).toBe(3);
    expect((error as Error).message).toMatch(/^params\.json:3:\d+: alpha: /);
  });
});
