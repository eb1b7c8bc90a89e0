import { beforeAll, describe, expect, it } from 'vitest';
import { EVENTS } from '../../../schemas/event-names.js';
import type { SimulatedCall } from './segment-call.js';
import { byAnonymousId, runJourneys, testConfig, type Run } from './test-fixtures.js';

describe('identities', () => {
  let run: Run;
  let devices: Map<string, SimulatedCall[]>;

  beforeAll(() => {
    run = runJourneys(testConfig(), 4000);
    devices = byAnonymousId(run.calls);
  }, 120_000);

  it('has anonymous visits that an identify carrying both ids links later', () => {
    let linked = 0;
    for (const list of devices.values()) {
      const identify = list.findIndex((c) => c.call.type === 'identify');
      if (identify <= 0) continue;
      const before = list.slice(0, identify);
      if (before.every((c) => c.call.userId === undefined)) linked++;
      expect(list[identify]!.call.userId).toBeDefined();
    }
    expect(linked).toBeGreaterThan(500);
  });

  it('puts the userId on every later call from a device once it has identified', () => {
    for (const list of devices.values()) {
      const identify = list.findIndex((c) => c.call.type === 'identify');
      if (identify < 0) {
        expect(list.every((c) => c.call.userId === undefined)).toBe(true);
        continue;
      }
      const userId = list[identify]!.call.userId;
      expect(list.slice(identify).every((c) => c.call.userId === userId)).toBe(true);
      expect(list.slice(0, identify).every((c) => c.call.userId === undefined)).toBe(true);
    }
  });

  it('spreads people over several devices, each linked by its own identify (login)', () => {
    const anonymousIdsPerUser = new Map<string, Set<string>>();
    for (const { call } of run.calls) {
      if (call.type !== 'identify') continue;
      const set = anonymousIdsPerUser.get(call.userId!) ?? new Set<string>();
      set.add(call.anonymousId!);
      anonymousIdsPerUser.set(call.userId!, set);
    }
    const multi = [...anonymousIdsPerUser.values()].filter((s) => s.size >= 2).length;
    expect(multi).toBeGreaterThan(50);
    expect([...anonymousIdsPerUser.values()].every((s) => s.size <= 4)).toBe(true);
  });

  it('identifies everyone before they buy', () => {
    for (const { call } of run.calls) {
      if (call.event === EVENTS.orderCompleted || call.event === EVENTS.checkoutStarted || call.event === EVENTS.contractSigned) {
        expect(call.userId).toBeDefined();
      }
    }
  });

  it('links anonymous store visits when the person identifies', () => {
    const serverIdentifies = run.calls.filter((c) => c.call.type === 'identify' && c.source === 'server');
    expect(serverIdentifies.length).toBeGreaterThan(0);
    for (const c of serverIdentifies) {
      const visits = devices.get(c.call.anonymousId!)!;
      expect(visits.some((v) => v.call.event === EVENTS.storeVisited || v.call.event === EVENTS.callCenterContacted)).toBe(true);
    }
  });

  it('aliases the anonymous id to the user id now and then', () => {
    const aliases = run.calls.filter((c) => c.call.type === 'alias');
    expect(aliases.length).toBeGreaterThan(0);
    for (const { call } of aliases) expect(call.previousId).toBe(call.anonymousId);
  });
});
