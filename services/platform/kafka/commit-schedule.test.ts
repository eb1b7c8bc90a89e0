import { describe, expect, it } from 'vitest';
import { createCommitSchedule } from './commit-schedule.js';

const at = (offset: number, metadata?: string) => ({ offset: String(offset), ...(metadata ? { metadata } : {}) });

describe('commit schedule', () => {
  it('commits the first point at once, then keeps later points until the interval has passed', () => {
    let now = 0;
    const schedule = createCommitSchedule(1_000, () => now);
    expect(schedule.offer('t:0', at(10))).toEqual(at(10));
    now = 200;
    expect(schedule.offer('t:0', at(20))).toBeNull();
    now = 400;
    expect(schedule.offer('t:0', at(30))).toBeNull();
    expect(schedule.due('t:0')).toBeNull();
    now = 1_000;
    // The newest point stands in for the ones before it.
    expect(schedule.due('t:0')).toEqual(at(30));
    expect(schedule.due('t:0')).toBeNull();
  });

  it('hands a batch point over directly once the interval has passed', () => {
    let now = 0;
    const schedule = createCommitSchedule(1_000, () => now);
    schedule.offer('t:0', at(1));
    now = 999;
    expect(schedule.offer('t:0', at(2))).toBeNull();
    now = 1_000;
    expect(schedule.offer('t:0', at(3))).toEqual(at(3));
    expect(schedule.take('t:0')).toBeNull();
  });

  it('keeps partitions apart', () => {
    let now = 0;
    const schedule = createCommitSchedule(1_000, () => now);
    expect(schedule.offer('t:0', at(1))).toEqual(at(1));
    expect(schedule.offer('t:1', at(7))).toEqual(at(7));
    now = 10;
    expect(schedule.offer('t:0', at(2))).toBeNull();
    expect(schedule.take('t:1')).toBeNull();
    expect(schedule.take('t:0')).toEqual(at(2));
  });

  it('on a stop, takes the kept point whether due or not', () => {
    let now = 0;
    const schedule = createCommitSchedule(60_000, () => now);
    schedule.offer('t:0', at(1));
    now = 5;
    schedule.offer('t:0', at(9));
    expect(schedule.take('t:0')).toEqual(at(9));
    expect(schedule.take('t:0')).toBeNull();
  });

  it('never commits a kept point after a direct commit (it would erase the intent in its metadata)', () => {
    let now = 0;
    const schedule = createCommitSchedule(1_000, () => now);
    schedule.offer('t:0', at(1));
    now = 10;
    schedule.offer('t:0', at(50));
    schedule.committedDirectly('t:0'); // e.g. offset 50 with metadata "pending:80"
    now = 5_000;
    expect(schedule.due('t:0')).toBeNull();
    expect(schedule.take('t:0')).toBeNull();
  });

  it('forgets a revoked partition: its kept point could rewind the new owner', () => {
    let now = 0;
    const schedule = createCommitSchedule(1_000, () => now);
    schedule.offer('t:0', at(1));
    now = 10;
    schedule.offer('t:0', at(2));
    schedule.forget('t:0');
    now = 5_000;
    expect(schedule.due('t:0')).toBeNull();
    // After a forget, the partition's next point is due at once, as a first one is.
    expect(schedule.offer('t:0', at(3))).toEqual(at(3));
  });

  it('with a zero interval, commits every point as it comes', () => {
    const schedule = createCommitSchedule(0, () => 0);
    expect(schedule.offer('t:0', at(1))).toEqual(at(1));
    expect(schedule.offer('t:0', at(2))).toEqual(at(2));
    expect(schedule.offer('t:0', null)).toBeNull();
  });
});
