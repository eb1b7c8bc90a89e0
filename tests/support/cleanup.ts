import { afterAll, afterEach } from 'vitest';
import { killIfRunning, type ServiceProcess } from './processes.js';

export interface Stoppable {
  stop(): Promise<unknown>;
}

export interface Cleanup {
  /**
   * Registers something the test started, to be stopped after it whether it passed or failed, and
   * returns it. Its `stop` becomes idempotent: a test that stops it itself (to assert what a stop
   * does) is not stopped twice.
   */
  started<T extends Stoppable>(thing: T): T;
  /** A service process: SIGKILLed after the test if it still runs. */
  process(svc: ServiceProcess): ServiceProcess;
  /** Any other undo step (disconnect an admin, close a server, clear a timer). */
  defer(undo: () => unknown): void;
}

/**
 * What a test starts, stopped in reverse order in `afterEach` (or `afterAll` with `{ after: 'all' }`),
 * so one failed assertion does not leave consumers, producers or processes running for the rest of
 * the suite. Call it in the describe block (or at the top of the file) that starts things.
 */
export function stopAfterEach(options: { after?: 'each' | 'all' } = {}): Cleanup {
  const undo: Array<() => unknown> = [];
  const run = async () => {
    const errors: unknown[] = [];
    while (undo.length > 0) {
      try {
        await undo.pop()!();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanup steps failed`);
  };
  (options.after === 'all' ? afterAll : afterEach)(run);
  return {
    started(thing) {
      const stop = thing.stop.bind(thing);
      let stopping: Promise<unknown> | undefined;
      thing.stop = () => (stopping ??= stop());
      // A stop the test already awaited (and saw fail) is not reported again.
      undo.push(() => (stopping ? stopping.catch(() => undefined) : thing.stop()));
      return thing;
    },
    process(svc) {
      undo.push(() => killIfRunning(svc));
      return svc;
    },
    defer(step) {
      undo.push(step);
    },
  };
}
