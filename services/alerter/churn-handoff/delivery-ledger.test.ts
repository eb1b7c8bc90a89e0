import { describe, expect, it } from 'vitest';
import { createDeliveryLedger } from './delivery-ledger.js';

describe('createDeliveryLedger', () => {
  it('commits up to the oldest unsettled record, whatever settled after it', () => {
    const ledger = createDeliveryLedger();
    for (const o of ['10', '11', '12', '13']) expect(ledger.track(o)).toBe(true);
    expect(ledger.advance()).toBeNull();
    ledger.settle('12');
    ledger.settle('13');
    expect(ledger.advance()).toBeNull(); // 10 is still out
    ledger.settle('10');
    expect(ledger.advance()).toBe('11');
    expect(ledger.outstanding()).toBe(3);
    ledger.settle('11');
    expect(ledger.advance()).toBe('14');
    expect(ledger.outstanding()).toBe(0);
  });

  it('reports a point once: no new commit until it moves again', () => {
    const ledger = createDeliveryLedger();
    ledger.track('0');
    ledger.settle('0');
    expect(ledger.advance()).toBe('1');
    expect(ledger.advance()).toBeNull();
    ledger.track('5'); // offsets may skip (compaction, transaction markers)
    ledger.settle('5');
    expect(ledger.advance()).toBe('6');
  });

  it('skips a record tracked already (its batch read again)', () => {
    const ledger = createDeliveryLedger();
    expect(ledger.track('3')).toBe(true);
    expect(ledger.track('4')).toBe(true);
    expect(ledger.track('4')).toBe(false);
    expect(ledger.track('2')).toBe(false);
    expect(ledger.track('5')).toBe(true);
    expect(ledger.outstanding()).toBe(3);
  });

  it('stays exact over many records settled in reverse', () => {
    const ledger = createDeliveryLedger();
    for (let o = 0; o < 5000; o++) ledger.track(String(o));
    for (let o = 4999; o >= 1; o--) ledger.settle(String(o));
    expect(ledger.advance()).toBeNull();
    ledger.settle('0');
    expect(ledger.advance()).toBe('5000');
    ledger.track('5000');
    expect(ledger.advance()).toBeNull();
    ledger.settle('5000');
    expect(ledger.advance()).toBe('5001');
  });
});
