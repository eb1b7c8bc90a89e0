import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLingeringProducer } from './lingering-producer.js';
import { recordBytes, type OutgoingRecord } from './producer.js';

/** A hand-driven timer: nothing fires until the test says so. */
function manualTimer() {
  const pending = new Set<{ fire: () => void; ms: number }>();
  return {
    start: (fire: () => void, ms: number) => {
      const timer = { fire, ms };
      pending.add(timer);
      return () => void pending.delete(timer);
    },
    pending: () => [...pending].map((t) => t.ms),
    fireAll: () => {
      const due = [...pending];
      pending.clear();
      for (const t of due) t.fire();
    },
  };
}

/** A wrapped producer whose sends wait until the test acknowledges or fails them. */
function heldProducer() {
  const calls: Array<{ records: OutgoingRecord[]; ack: () => void; fail: (error: Error) => void }> = [];
  return {
    calls,
    producer: {
      send: (records: OutgoingRecord[]) => new Promise<void>((ack, fail) => calls.push({ records, ack, fail })),
    },
  };
}

const record = (key: string, valueBytes = 10): OutgoingRecord => ({ topic: 't', key, value: Buffer.alloc(valueBytes, key) });

/** Lets every settled promise run its callbacks (no time passes). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether a promise has settled yet, without waiting for it. */
function tracked<T>(promise: Promise<T>) {
  const state = { settled: false, error: undefined as unknown };
  promise.then(
    () => (state.settled = true),
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

describe('lingering producer', () => {
  it('sends the records of concurrent callers as one send after the linger, each caller answered only once it is acknowledged', async () => {
    const timer = manualTimer();
    const held = heldProducer();
    const lingering = createLingeringProducer(held.producer, { lingerMs: 5, startTimer: timer.start });

    const a = tracked(lingering.send([record('a1'), record('a2')]));
    const b = tracked(lingering.send([record('b1')]));
    await settle();
    expect(held.calls).toHaveLength(0);
    expect(timer.pending()).toEqual([5]);

    timer.fireAll();
    expect(held.calls.map((c) => c.records.map((r) => r.key))).toEqual([['a1', 'a2', 'b1']]);
    await settle();
    expect(a.settled || b.settled).toBe(false);

    held.calls[0]!.ack();
    await settle();
    expect(a).toEqual({ settled: true, error: undefined });
    expect(b).toEqual({ settled: true, error: undefined });
    expect(lingering.batching()).toEqual({ sends: 2, flushes: 1, records: 3 });
  });

  it('sends at once, without waiting out the linger, when the waiting records reach the byte budget', async () => {
    const timer = manualTimer();
    const held = heldProducer();
    const budget = 3 * recordBytes(record('x', 100));
    const lingering = createLingeringProducer(held.producer, { lingerMs: 5, maxBatchBytes: budget, startTimer: timer.start });

    void lingering.send([record('a', 100)]);
    void lingering.send([record('b', 100)]);
    expect(held.calls).toHaveLength(0);
    void lingering.send([record('c', 100)]);
    expect(held.calls.map((c) => c.records.map((r) => r.key))).toEqual([['a', 'b', 'c']]);
    expect(timer.pending()).toEqual([]);
  });

  it('has one batch in flight at a time; sends arriving meanwhile gather and go, in order, after it', async () => {
    const timer = manualTimer();
    const held = heldProducer();
    const lingering = createLingeringProducer(held.producer, { lingerMs: 5, startTimer: timer.start });

    const first = tracked(lingering.send([record('k1')]));
    timer.fireAll();
    const second = tracked(lingering.send([record('k2')]));
    const third = tracked(lingering.send([record('k3')]));
    timer.fireAll(); // the linger of the second batch passes while the first is in flight
    expect(held.calls).toHaveLength(1);

    held.calls[0]!.ack();
    await settle();
    expect(first.settled).toBe(true);
    expect(second.settled).toBe(false);
    expect(held.calls.map((c) => c.records.map((r) => r.key))).toEqual([['k1'], ['k2', 'k3']]);

    held.calls[1]!.ack();
    await settle();
    expect(second.settled && third.settled).toBe(true);
  });

  it('fails every caller of a failed batch with its error, and only those; the next batch goes on', async () => {
    const timer = manualTimer();
    const held = heldProducer();
    const lingering = createLingeringProducer(held.producer, { lingerMs: 5, startTimer: timer.start });

    const a = tracked(lingering.send([record('a')]));
    const b = tracked(lingering.send([record('b')]));
    timer.fireAll();
    const c = tracked(lingering.send([record('c')]));
    timer.fireAll();
    const broker = new Error('broker unreachable');
    held.calls[0]!.fail(broker);
    await settle();
    expect(a.error).toBe(broker);
    expect(b.error).toBe(broker);
    expect(c.settled).toBe(false);

    held.calls[1]!.ack();
    await settle();
    expect(c).toEqual({ settled: true, error: undefined });
  });

  it('takes whole sends up to the byte budget per batch; one send over the budget goes alone', async () => {
    const timer = manualTimer();
    const held = heldProducer();
    const one = recordBytes(record('x', 100));
    const lingering = createLingeringProducer(held.producer, { lingerMs: 5, maxBatchBytes: 4 * one, startTimer: timer.start });

    void lingering.send([record('a1', 100), record('a2', 100)]);
    void lingering.send([record('b1', 100)]);
    void lingering.send([record('c1', 100), record('c2', 100)]); // reaches the budget: due now
    void lingering.send([1, 2, 3, 4, 5].map((i) => record(`d${i}`, 100)));
    const keys = () => held.calls.map((c) => c.records.map((r) => r.key));
    expect(keys()).toEqual([['a1', 'a2', 'b1']]);
    held.calls[0]!.ack();
    await settle();
    expect(keys()).toEqual([['a1', 'a2', 'b1'], ['c1', 'c2']]);
    held.calls[1]!.ack();
    await settle();
    expect(keys()[2]).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
  });

  it('rejects the callers when the wrapped producer throws instead of returning a promise', async () => {
    const timer = manualTimer();
    const lingering = createLingeringProducer(
      {
        send: () => {
          throw new Error('producer not started');
        },
      },
      { lingerMs: 5, startTimer: timer.start },
    );
    const sent = lingering.send([record('a')]);
    timer.fireAll();
    await expect(sent).rejects.toThrow('producer not started');
  });

  it('resolves an empty send at once without sending anything', async () => {
    const timer = manualTimer();
    const held = heldProducer();
    const lingering = createLingeringProducer(held.producer, { lingerMs: 5, startTimer: timer.start });
    await expect(lingering.send([])).resolves.toBeUndefined();
    expect(held.calls).toHaveLength(0);
    expect(timer.pending()).toEqual([]);
  });

  it('whatever the interleaving of sends, lingers, acks and failures: every caller gets its own batch outcome, records keep their order, one batch in flight', async () => {
    type Step = { kind: 'send'; records: number; bytes: number } | { kind: 'linger' } | { kind: 'ack' } | { kind: 'fail' };
    const step = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), records: fc.integer({ min: 1, max: 4 }), bytes: fc.integer({ min: 1, max: 300 }) }),
      fc.constant({ kind: 'linger' as const }),
      fc.constant({ kind: 'ack' as const }),
      fc.constant({ kind: 'fail' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps: Step[]) => {
        const timer = manualTimer();
        const held = heldProducer();
        const budget = 1_000;
        const lingering = createLingeringProducer(held.producer, { lingerMs: 5, maxBatchBytes: budget, startTimer: timer.start });
        const callers: Array<{ keys: string[]; state: ReturnType<typeof tracked> }> = [];
        /** Outcome per wrapped send, by index: 'ok', or the error it failed with. */
        const outcomes: Array<'ok' | Error> = [];
        let answered = 0;
        let n = 0;
        const answer = (kind: 'ack' | 'fail') => {
          const call = held.calls[answered];
          if (!call) return;
          answered++;
          if (kind === 'ack') {
            outcomes.push('ok');
            call.ack();
          } else {
            const error = new Error(`batch ${answered} failed`);
            outcomes.push(error);
            call.fail(error);
          }
        };
        for (const s of steps) {
          if (s.kind === 'send') {
            const records = Array.from({ length: s.records }, () => record(`r${n++}`, s.bytes));
            callers.push({ keys: records.map((r) => r.key!), state: tracked(lingering.send(records)) });
          } else if (s.kind === 'linger') timer.fireAll();
          else answer(s.kind);
          await settle();
          // One batch in flight: never more wrapped sends outstanding than one.
          expect(held.calls.length - answered).toBeLessThanOrEqual(1);
        }
        // Drain: every linger passes and every batch is acknowledged.
        for (let guard = 0; guard < 100 && (timer.pending().length > 0 || held.calls.length > answered); guard++) {
          timer.fireAll();
          answer('ack');
          await settle();
        }

        const sentKeys = held.calls.flatMap((c) => c.records.map((r) => r.key));
        expect(sentKeys).toEqual(callers.flatMap((c) => c.keys));
        for (const c of held.calls) {
          const bytes = c.records.reduce((sum, r) => sum + recordBytes(r), 0);
          const wholeSends = callers.filter((caller) => caller.keys.some((k) => c.records.some((r) => r.key === k)));
          if (wholeSends.length > 1) expect(bytes).toBeLessThanOrEqual(budget);
        }
        for (const caller of callers) {
          const batch = held.calls.findIndex((c) => c.records.some((r) => r.key === caller.keys[0]));
          // A caller's records are all in one wrapped send.
          expect(held.calls[batch]!.records.filter((r) => caller.keys.includes(r.key!)).map((r) => r.key)).toEqual(caller.keys);
          const outcome = outcomes[batch];
          expect(caller.state.settled).toBe(true);
          expect(caller.state.error).toBe(outcome === 'ok' ? undefined : outcome);
        }
      }),
      { numRuns: 200 },
    );
  });
});
